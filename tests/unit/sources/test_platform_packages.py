"""The shape of a platform's package: an ``__init__`` of public entry points, light to import."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from types import ModuleType

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


def defined_here(module: ModuleType) -> set[str]:
    """The functions and classes a module defines itself (not those it imports)."""
    return {
        name
        for name, value in vars(module).items()
        if (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__ == module.__name__
    }


@pytest.mark.parametrize("platform", platform_names())
def test_a_platform_package_init_defines_only_its_public_entry_points(platform: str) -> None:
    package = importlib.import_module(f"rapport.sources.{platform}")
    private = sorted(name for name in defined_here(package) if name.startswith("_"))
    assert private == [], f"rapport.sources.{platform} defines helpers {private}: they belong in its modules"
    assert {"extract", "extract_with_stats", "normalize"} <= defined_here(package)
