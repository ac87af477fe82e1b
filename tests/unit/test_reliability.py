"""``rapport methodology``'s figures on a small hand-made warehouse whose answers are computed here.

Two accounts over five ISO weeks, and a third with one week. Account ``a``
misses week 4 (a gap: weeks 3 and 5 are not a pair); account ``b`` has a NULL
trust in week 2. The expected correlation, change sd and alpha are computed
in the test by the textbook formulas with numpy, independently of the module.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from rapport.cli import app
from rapport.reliability import (
    INDICATORS,
    Component,
    average_ranks,
    compare_runs,
    compute_figures,
    consistency_of,
    discover_components,
    model_yaml,
    models_reading_vars,
    perturbed_values,
    project_vars,
    read_scores,
    spearman,
)
from rapport.settings import get_settings
from tests.conftest import PROJECT_ROOT

runner = CliRunner()
MONDAY = date(2026, 10, 5)


def week(index: int) -> date:
    return MONDAY + timedelta(weeks=index)


# (account, week index, trust, openness, reply_share, own_news_share, overall)
ROWS = [
    ("a", 0, 50.0, 40.0, 0.2, 0.6, 45.0),
    ("a", 1, 60.0, 55.0, 0.5, 0.6, 58.0),
    ("a", 2, 40.0, 30.0, 0.1, 0.5, 35.0),
    ("a", 4, 80.0, 75.0, 0.7, 0.8, 78.0),  # week 3 missing: (2, 4) is no pair
    ("b", 0, 70.0, 65.0, 0.6, 0.7, 68.0),
    ("b", 1, None, 20.0, 0.1, 0.3, 20.0),  # trust NULL: no trust pair with week 0 or 2
    ("b", 2, 90.0, 85.0, 0.8, 0.9, 88.0),
    ("b", 3, 65.0, 60.0, 0.5, 0.7, 62.0),
    ("b", 4, 85.0, 80.0, 0.9, 0.7, 82.0),
    ("c", 4, 10.0, 10.0, 0.0, 0.2, 10.0),
]


def build_scores(path: Path, rows=ROWS) -> Path:
    connection = duckdb.connect(str(path))
    try:
        connection.execute("create schema marts")
        connection.execute(
            "create table marts.fct_relationship_scores (account_id varchar, week_start_date date, "
            "trust_score double, openness_score double, involvement_score double, investment_score double, "
            "commitment_score double, overall_score double, reply_share double, own_news_share double)"
        )
        for account, index, trust, openness, reply, news, overall in rows:
            connection.execute(
                "insert into marts.fct_relationship_scores values (?, ?, ?, ?, null, null, null, ?, ?, ?)",
                [account, week(index), trust, openness, overall, reply, news],
            )
    finally:
        connection.close()
    return path


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return build_scores(tmp_path / "warehouse.duckdb")


def expected_pairs(indicator_column: int) -> list[tuple[float, float]]:
    """The pairs by hand: consecutive weeks of one account, both defined."""
    by_key = {(row[0], row[1]): row[indicator_column] for row in ROWS}
    pairs = []
    for (account, index), value in by_key.items():
        after = by_key.get((account, index + 1))
        if value is not None and after is not None:
            pairs.append((value, after))
    return pairs


# --------------------------------------------------------------------------- test-retest, stability


def test_test_retest_is_pearson_of_consecutive_weeks_within_an_account_both_scored(
    warehouse: Path, rapport_home: Path
):
    figures = compute_figures(get_settings(), warehouse, sensitivity=False)
    retest = {item.indicator: item for item in figures.retest}
    for indicator, column in (("trust", 2), ("openness", 3), ("overall", 6)):
        pairs = expected_pairs(column)
        before, after = np.array(pairs).T
        assert retest[indicator].pairs == len(pairs)
        assert retest[indicator].correlation == pytest.approx(np.corrcoef(before, after)[0, 1])
        assert retest[indicator].change_sd == pytest.approx(np.std(after - before, ddof=1))
        assert retest[indicator].drops == int(np.sum(before - after > 15))
    # a: (0,1) (1,2); b: (2,3) (3,4) for trust; the gap and the NULL break the others.
    assert retest["trust"].pairs == 4
    assert retest["openness"].pairs == 6
    assert retest["trust"].drops == 2  # a 60 -> 40, b 90 -> 65
    assert retest["involvement"].pairs == 0 and retest["involvement"].correlation is None


def test_internal_consistency_is_cronbach_alpha_of_the_components_where_all_are_defined(
    warehouse: Path,
):
    rows = read_scores(warehouse, ["reply_share", "own_news_share"])
    items = np.array([[row[4], row[5]] for row in ROWS])
    k = items.shape[1]
    expected = k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / items.sum(axis=1).var(ddof=1))
    result = consistency_of(rows, "openness", [Component("reply_share"), Component("own_news_share")])
    assert (result.rows, result.reason) == (10, None)
    assert result.alpha == pytest.approx(expected)


def test_alpha_applies_each_components_scale_inversion_and_cap(warehouse: Path):
    rows = read_scores(warehouse, ["openness_score", "reply_share"])
    items = np.array([[1 - row[3] / 100, min(row[4] * 3, 1.0)] for row in ROWS])
    expected = 2 * (1 - items.var(axis=0, ddof=1).sum() / items.sum(axis=1).var(ddof=1))
    for row in rows:
        row["reply_share"] = row["reply_share"] * 3  # above 1 for some rows: capped
    components = [
        Component("openness_score", inverted=True, percent=True),
        Component("reply_share", capped=True),
    ]
    assert consistency_of(rows, "x", components).alpha == pytest.approx(expected)


def test_alpha_is_na_with_its_reason_for_one_component_too_few_rows_or_a_missing_column(warehouse: Path):
    rows = read_scores(warehouse, ["reply_share", "own_news_share"])
    one = consistency_of(rows, "x", [Component("reply_share")])
    assert one.alpha is None and one.reason == "1 component(s): alpha needs 2 or more"
    few = consistency_of(rows[:4], "x", [Component("reply_share"), Component("own_news_share")])
    assert few.alpha is None and few.reason == "4 complete rows, fewer than 10"
    missing = consistency_of(rows, "x", [Component("reply_share"), Component("coverage_share")])
    assert missing.alpha is None and missing.reason == "not in the warehouse: coverage_share"


def test_the_markdown_says_n_a_and_why(warehouse: Path, rapport_home: Path):
    result = runner.invoke(app, ["methodology", "--warehouse", str(warehouse), "--skip-sensitivity"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"Warehouse `{warehouse}`: 3 accounts, 10 account-weeks")
    assert "| involvement | 0 | n/a | n/a | 0 |" in lines
    # The demo's involvement components are not columns of this warehouse.
    assert any(
        line.startswith(
            "| involvement | shrunk_directed_at_others_share, shrunk_non_promotional_share | 0 | n/a (not in"
        )
        for line in lines
    )
    assert "Sensitivity" not in result.output


def test_json_carries_the_same_figures(warehouse: Path, rapport_home: Path):
    import json

    result = runner.invoke(
        app, ["methodology", "--warehouse", str(warehouse), "--skip-sensitivity", "--json"]
    )
    figures = json.loads(result.output)
    assert [item["indicator"] for item in figures["retest"]] == list(INDICATORS)
    assert figures["retest"][0]["pairs"] == 4 and figures["sensitivity"] == []


# --------------------------------------------------------------------------- components from the YAML


def test_components_come_from_meta_first_then_the_description_then_the_weight_vars():
    model = {
        "columns": [
            {"name": "trust_score", "description": "Weighted mean of a_share and b_share."},
            {"name": "a_share", "meta": {"component_of": "trust"}},
            {
                "name": "c_share",
                "config": {"meta": {"component_of": ["trust", "openness"], "inverted": True}},
            },
        ]
    }
    found = discover_components(model, {})
    assert found["trust"] == [Component("a_share"), Component("c_share", inverted=True)]
    assert found["openness"] == [Component("c_share", inverted=True)]

    described = {
        "columns": [
            {
                "name": "investment_score",
                "description": "Weighted mean of min(effort_ratio, 1), alt_text_share (when media_count > 0) "
                "and 1 - idle_share. NULL without actions.",
            },
            *(
                {"name": name}
                for name in ("effort_ratio", "alt_text_share", "media_count", "idle_share", "actions")
            ),
            {"name": "overall_score", "description": "Weighted mean of the indicators defined that week."},
            {"name": "trust_score"},
            {"name": "openness_score"},
        ]
    }
    variables = {"overall_weight_trust": 0.5, "overall_weight_openness": 0.5, "overall_weight_reach": 1}
    found = discover_components(described, variables)
    assert found["investment"] == [
        Component("effort_ratio", capped=True),
        Component("alt_text_share"),
        Component("idle_share", inverted=True),
    ]
    assert found["overall"] == [
        Component("trust_score", percent=True),
        Component("openness_score", percent=True),
    ]


def test_every_indicator_of_the_project_has_components_that_are_columns_of_the_model():
    model = model_yaml(PROJECT_ROOT / "sql")
    columns = {column["name"] for column in model["columns"]}
    found = discover_components(model, project_vars(PROJECT_ROOT / "sql"))
    for indicator in INDICATORS:
        assert len(found[indicator]) >= 2, indicator
        assert {component.column for component in found[indicator]} <= columns


# --------------------------------------------------------------------------- sensitivity's pieces


def test_a_perturbation_is_20_percent_integers_rounded_moved_at_least_1_and_kept_at_1_or_more():
    assert perturbed_values(0.5) == [0.4, 0.6]
    assert perturbed_values(0.2) == [0.16, 0.24]
    assert perturbed_values(12) == [10, 14]
    assert perturbed_values(2) == [1, 3]  # 1.6 and 2.4 would round back to 2
    assert perturbed_values(7) == [6, 8]
    assert perturbed_values(1) == [2]  # 0 would mean nothing: -20 % is left out


def test_the_models_of_a_var_are_those_calling_it_directly_or_through_a_macro(tmp_path: Path):
    readers = models_reading_vars(PROJECT_ROOT / "sql")
    assert readers["trust_weight_presence"] == {"fct_relationship_scores"}
    assert readers["question_answer_window_days"] == {"int_questions_joined_to_answers"}
    assert readers["expected_weekly_actions_small"] == {"dim_organizations"}

    (tmp_path / "macros").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "macros" / "m.sql").write_text(
        "{% macro scaled(x) %}{{ x }} * {{ var('scale') }}{% endmacro %}\n"
        "{% macro every_var() %}{% for name in names %}{{ var(name) }}{% endfor %}{% endmacro %}\n"
    )
    (tmp_path / "models" / "uses_macro.sql").write_text("select {{ scaled(2) }} as x")
    (tmp_path / "models" / "plain.sql").write_text('select {{ var("offset") }} as y')
    assert models_reading_vars(tmp_path) == {"scale": {"uses_macro"}, "offset": {"plain"}}


def test_spearman_ranks_ties_by_their_mean_rank():
    assert average_ranks([10.0, 30.0, 20.0, 30.0]) == [1.0, 3.5, 2.0, 3.5]
    assert spearman([1.0, 2.0, 3.0], [10.0, 20.0, 30.0]) == pytest.approx(1.0)
    assert spearman([1.0, 2.0, 3.0], [30.0, 20.0, 10.0]) == pytest.approx(-1.0)


def test_compare_runs_gives_the_mean_absolute_change_spearman_and_the_largest_rank_shift(warehouse: Path):
    baseline = read_scores(warehouse, [f"{indicator}_score" for indicator in INDICATORS])
    perturbed = [dict(row) for row in baseline]
    for row in perturbed:
        if row["account_id"] == "c":
            row["overall_score"] = 99.0  # c jumps from last to first
        if row["trust_score"] is not None:
            row["trust_score"] += 2.0
    changes, rho, shift, ranked = compare_runs(baseline, perturbed)
    assert changes["trust"] == pytest.approx(2.0)
    assert changes["openness"] == 0.0
    assert changes["overall"] == pytest.approx(89.0 / 10)
    # Latest 12 weeks: every week. Means of overall: a 54.0, b 64.0, c 10.0 -> ranks b 1, a 2, c 3;
    # then c 1, b 2, a 3.
    base_ranks, new_ranks = [2, 1, 3], [3, 2, 1]
    assert ranked == 3
    assert rho == pytest.approx(np.corrcoef(base_ranks, new_ranks)[0, 1])
    assert shift == 2.0


# --------------------------------------------------------------------------- errors


def test_a_missing_warehouse_is_one_line_naming_it_and_exit_code_1(tmp_path: Path, rapport_home: Path):
    missing = tmp_path / "nowhere.duckdb"
    result = runner.invoke(app, ["methodology", "--warehouse", str(missing), "--skip-sensitivity"])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {missing}: no warehouse there")
    assert result.output.count("\n") == 1


def test_a_warehouse_without_marts_is_one_line_naming_it(tmp_path: Path, rapport_home: Path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    result = runner.invoke(app, ["methodology", "--warehouse", str(empty)])
    assert result.exit_code == 1
    assert result.output == (
        f"error: {empty}: no marts.fct_relationship_scores (the marts were never built: run dbt)\n"
    )


def test_a_locked_warehouse_is_one_line_naming_it(warehouse: Path, rapport_home: Path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                connection = duckdb.connect({str(warehouse)!r})
                print("holding", flush=True)
                sys.stdin.readline()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        result = runner.invoke(app, ["methodology", "--warehouse", str(warehouse), "--skip-sensitivity"])
    finally:
        holder.communicate("\n", timeout=30)
    assert result.exit_code == 1
    assert result.output.startswith(
        f"error: {warehouse}: cannot open the warehouse (another process holds it"
    )
    assert result.output.count("\n") == 1


def test_an_unknown_var_to_perturb_is_a_user_mistake_naming_it(warehouse: Path, rapport_home: Path):
    result = runner.invoke(
        app, ["methodology", "--warehouse", str(warehouse), "--vars", "trust_weight_presence,nope"]
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: --vars: nope: not a numeric var of ")


def test_sensitivity_on_a_warehouse_without_raw_tables_is_one_line_naming_it(
    warehouse: Path, rapport_home: Path
):
    # The published copy holds the marts only: there is nothing for dbt to score again.
    result = runner.invoke(
        app, ["methodology", "--warehouse", str(warehouse), "--vars", "trust_weight_presence"]
    )
    assert result.exit_code == 1
    assert result.output == (
        f"error: {warehouse}: no raw tables to score again (a published copy holds the marts only): "
        "name the warehouse itself, or add --skip-sensitivity\n"
    )
