"""The shape of a platform's package: an ``__init__`` of public entry points, light to import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rapport.sources import platform_names

HEAVY = ("requests", "urllib3", "pandas", "duckdb", "pyarrow", "numpy", "great_expectations")


@pytest.mark.parametrize("platform", platform_names())
def test_importing_a_platform_package_imports_no_http_client_or_dataframe_library(platform: str) -> None:
    script = (
        "import sys; before = set(sys.modules);"
        f"import rapport.sources.{platform};"
        f"print(sorted({{m.split('.')[0] for m in set(sys.modules) - before}} & {set(HEAVY)!r}))"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert output.stdout.strip().splitlines()[-1] == "[]"
