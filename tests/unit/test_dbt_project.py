"""The dbt project's configuration stays consistent with the macros that depend on it."""

from __future__ import annotations

import re

import yaml

from tests.conftest import PROJECT_ROOT


def test_the_scoring_configuration_hash_covers_every_var_of_the_project():
    project = yaml.safe_load((PROJECT_ROOT / "sql" / "dbt_project.yml").read_text(encoding="utf-8"))
    macro = (PROJECT_ROOT / "sql" / "macros" / "incremental_refresh.sql").read_text(encoding="utf-8")
    listed = macro[macro.index("macro scoring_configuration_names") : macro.index("endmacro")]
    # A var missing from the list would change scores without the incremental models noticing.
    assert set(re.findall(r"'([a-z0-9_]+)'", listed)) == set(project["vars"])
