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


def test_the_export_components_of_the_dbt_project_are_the_contracts_in_its_order():
    from rapport.sources.contract import COMPONENTS

    macro = (PROJECT_ROOT / "sql" / "macros" / "export_components.sql").read_text(encoding="utf-8")
    # A component the contracts add but the scoring does not list would never be left out of a score.
    assert re.findall(r"\['([a-z_]+)', ", macro) == list(COMPONENTS)
    feeds = yaml.safe_load(
        (PROJECT_ROOT / "sql" / "models" / "staging" / "stg_social__export_format_feeds.yml").read_text(
            encoding="utf-8"
        )
    )
    (component,) = [column for column in feeds["models"][0]["columns"] if column["name"] == "component"]
    (accepted,) = [test["accepted_values"] for test in component["data_tests"] if "accepted_values" in test]
    assert accepted["arguments"]["values"] == list(COMPONENTS)
