"""``rapport methodology`` and the drop alerts on the demo warehouse the pipeline builds."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rapport.cli import app
from rapport.publish.report import SCORE_DROP, read_alerts
from rapport.reliability import INDICATORS
from tests.integration.conftest import query

pytestmark = pytest.mark.slow

runner = CliRunner()


def test_the_demos_busier_week_alert_is_gone_and_every_drop_alert_compares_weeks_of_enough_actions(
    demo_home: Path,
):
    warehouse = demo_home / "data" / "warehouse.duckdb"
    # The demo's green_valley: 1 action in W46, 6 in W47 (0.1 scored involvement 100, then 70).
    weeks = query(
        warehouse,
        "select week_start_date, actions from marts.fct_relationship_scores "
        "where account_id = 'demo:@green_valley' order by week_start_date desc limit 2",
    )
    assert [actions for _, actions in weeks] == [6, 1]
    actions = dict(
        ((account_id, week), count)
        for account_id, week, count in query(
            warehouse, "select account_id, week_start_date, actions from marts.fct_relationship_scores"
        )
    )
    drops = [alert for alert in read_alerts(warehouse) if alert.kind == SCORE_DROP]
    assert "demo:@green_valley" not in {alert.account_id for alert in drops}
    latest = weeks[0][0]
    for alert in drops:
        if "investment" in alert.message:  # investment scores the volume itself: no minimum
            continue
        assert actions[alert.account_id, latest] >= 3 and actions[alert.account_id, weeks[1][0]] >= 3, alert


def test_methodology_prints_every_figure_of_the_demo_and_leaves_its_warehouse_untouched(demo_home: Path):
    warehouse = demo_home / "data" / "warehouse.duckdb"
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()

    result = runner.invoke(
        app, ["methodology", "--json", "--vars", "trust_weight_presence,question_answer_window_days"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)

    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
    assert (figures["accounts"], figures["account_weeks"]) == (8, 195)
    for item in figures["retest"]:
        assert item["pairs"] > 100 and 0 < item["correlation"] <= 1 and item["change_sd"] > 0, item
    # The same drops and spreads as the reviewer's SQL, sql/analyses/week_to_week_stability.sql.
    analysis = (Path(__file__).parents[2] / "sql" / "analyses" / "week_to_week_stability.sql").read_text()
    expected = {indicator: (pairs, sd, drops) for indicator, pairs, sd, drops in query(warehouse, analysis)}
    assert {
        item["indicator"]: (item["pairs"], round(item["change_sd"], 1), item["drops"])
        for item in figures["retest"]
    } == expected
    for item in figures["consistency"]:
        assert item["reason"] is None and item["rows"] > 100 and -1 < item["alpha"] < 1, item

    perturbations = {(item["var"], item["value"]): item for item in figures["sensitivity"]}
    assert set(perturbations) == {
        ("trust_weight_presence", 0.16),
        ("trust_weight_presence", 0.24),
        ("question_answer_window_days", 1),
        ("question_answer_window_days", 3),
    }
    presence = perturbations["trust_weight_presence", 0.16]
    # A trust weight moves trust, and what is computed from it, and nothing else.
    assert presence["mean_absolute_change"]["trust"] > 0
    assert all(
        presence["mean_absolute_change"][name] == 0 for name in ("openness", "involvement", "investment")
    )
    assert presence["accounts_ranked"] == 8 and -1 <= presence["spearman"] <= 1
    # A shorter answer window (an intermediate model, rerun with its children) moves trust too.
    assert perturbations["question_answer_window_days", 1]["mean_absolute_change"]["trust"] > 0
    assert figures["dbt_runs"] == 5 and figures["sensitivity_seconds"] > 0

    markdown = runner.invoke(app, ["methodology", "--skip-sensitivity"])
    assert markdown.exit_code == 0, markdown.output
    for indicator in INDICATORS:
        assert f"| {indicator} | " in markdown.stdout
