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


NUMERIC_TYPES = ("integer", "bigint", "hugeint", "smallint", "double", "float", "real", "decimal", "numeric")
# A numeric column's description names its unit in parentheses, unit first: "(0-1 share)",
# "(0-100 score)", "(hours)", "(count)", "(points; NULL without the earlier week)".
UNIT = re.compile(
    r"\((?:0-1|0-7|0-100|1-53|hours|days|weeks|count|points|ratio|rank|ISO year|ordinal|cost_unit)\b[^)]*\)"
)


def mart_columns() -> list[tuple[str, dict]]:
    """Every column of every mart, as its YAML declares it: (model, column)."""
    columns = []
    for path in sorted((PROJECT_ROOT / "sql" / "models" / "marts").glob("*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            columns += [(model["name"], column) for column in model.get("columns", [])]
    return columns


def test_every_mart_column_has_a_description_the_warehouse_and_the_published_files_carry():
    project = yaml.safe_load((PROJECT_ROOT / "sql" / "dbt_project.yml").read_text(encoding="utf-8"))
    assert project["models"]["rapport"]["+persist_docs"] == {"relation": True, "columns": True}
    undescribed = [
        f"{model}.{column['name']}" for model, column in mart_columns() if not column.get("description")
    ]
    assert undescribed == []


def test_every_numeric_mart_column_names_its_unit_in_its_description():
    numeric = [
        (model, column)
        for model, column in mart_columns()
        if str(column.get("data_type", "")).lower().startswith(NUMERIC_TYPES)
    ]
    assert len(numeric) > 100
    unitless = [
        f"{model}.{column['name']}: {column.get('description')}"
        for model, column in numeric
        if not UNIT.search(column.get("description") or "")
    ]
    assert unitless == []
