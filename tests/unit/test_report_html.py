"""The weekly HTML report and its alerts, on a tiny warehouse built with SQL.

Four organizations over four ISO weeks (2026-W44 to 2026-W47):
- open-lab (culture; its name holds a script tag): trust falls 90 -> 70 in W47
  because it answered 4 of 10 questions instead of 9 of 10, in 6 h instead of 0.5 h;
- museum (culture): the best; commitment NULL in W47 (new account), one question;
- theatre (culture): the weakest of the culture group; in W47 its dialogue and
  its accessible posts fall (openness 40 -> 30, investment 60 -> 50);
- quiet-bank (finance): silent in W46 and W47.

The alerts are the rows of ``marts.fct_relationship_alerts`` the dbt rules find in these
weeks (their rules are unit-tested in sql/models/marts/fct_relationship_alerts.yml).
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rapport.publish.report import (
    LOW_RESPONSE_RATE,
    SCORE_DROP,
    SILENT_ACCOUNT,
    Alert,
    ReportError,
    compute_alerts,
    write_report,
)

WEEKS = [date(2026, 10, 26) + timedelta(weeks=index) for index in range(4)]
LATEST_WEEK_FILE = "rapport-2026-W47.html"
HOSTILE_NAME = "Open <script>alert(1)</script> Lab"

_DDL = """
create schema marts;
create table marts.dim_organizations (
    organization_id varchar, organization_name varchar, peer_group varchar,
    size_band varchar, language_code varchar
);
create table marts.dim_accounts (
    account_id varchar, organization_id varchar, platform varchar, handle varchar, display_name varchar,
    instance varchar, account_state varchar default 'active', moved_to_handle varchar,
    state_observed_since timestamp, is_unreachable boolean default false, last_observed_at timestamp
);
create table marts.fct_relationship_alerts (
    alert_id varchar, alert_rule varchar, subject_type varchar, subject_id varchar, organization_id varchar,
    account_id varchar, platform varchar, week_start_date date, indicator varchar, value double,
    previous_value double, threshold double, message varchar
);
create table marts.fct_account_weekly_metrics (
    account_id varchar, organization_id varchar, week_start_date date, actions bigint, active_days bigint
);
create table marts.fct_relationship_scores (
    account_id varchar, organization_id varchar, week_start_date date,
    trust_score double, openness_score double, involvement_score double,
    investment_score double, commitment_score double, overall_score double, score_notes varchar,
    coverage_notes varchar,
    weeks_of_history bigint, actions bigint, active_days bigint,
    questions_received bigint, questions_pending bigint, questions_decided bigint, questions_answered bigint,
    answered_question_share double, median_response_hours double, response_time_score double,
    dialogue_replies bigint, dialogue_share double, original_posts bigint, own_news_posts bigint,
    own_news_share double, actions_directed_at_others bigint, directed_at_others_share double,
    posts_with_text bigint, promotional_posts bigint, non_promotional_share double,
    expected_weekly_actions integer, effort_ratio double, own_posts bigint,
    accessible_posts bigint, accessibility_share double, trust_presence_share double,
    window_weeks bigint, active_weeks_in_window bigint,
    active_week_share double, burst_penalty double, sustained_quality_score double,
    shrunk_answered_question_share double, shrunk_response_time_score double, shrunk_dialogue_share double,
    shrunk_own_news_share double, shrunk_directed_at_others_share double, shrunk_non_promotional_share double,
    shrunk_accessibility_share double
);
"""

# An ordinary active week; each scenario overrides what it is about.
ACTIVE_WEEK: dict[str, Any] = {
    "score_notes": None,
    "actions": 10,
    "active_days": 5,
    "questions_received": 4,
    "questions_pending": 0,
    "questions_decided": 4,
    "questions_answered": 4,
    "answered_question_share": 1.0,
    "median_response_hours": 0.5,
    "response_time_score": 100.0,
    "dialogue_replies": 3,
    "dialogue_share": 0.3,
    "original_posts": 4,
    "own_news_posts": 2,
    "own_news_share": 0.5,
    "actions_directed_at_others": 5,
    "directed_at_others_share": 0.5,
    "posts_with_text": 9,
    "promotional_posts": 1,
    "non_promotional_share": 0.889,
    "expected_weekly_actions": 7,
    "effort_ratio": 1.43,
    "own_posts": 9,
    "accessible_posts": 9,
    "accessibility_share": 1.0,
    "trust_presence_share": 0.714,
    "window_weeks": 4,
    "active_weeks_in_window": 4,
    "active_week_share": 1.0,
    "burst_penalty": 0.0,
    "sustained_quality_score": 75.0,
}

SILENT_WEEK: dict[str, Any] = ACTIVE_WEEK | {
    "actions": 0,
    "active_days": 0,
    "questions_received": 0,
    "questions_decided": 0,
    "questions_answered": 0,
    "answered_question_share": None,
    "median_response_hours": None,
    "response_time_score": None,
    "dialogue_replies": 0,
    "dialogue_share": None,
    "original_posts": 0,
    "own_news_posts": 0,
    "own_news_share": None,
    "actions_directed_at_others": 0,
    "directed_at_others_share": None,
    "posts_with_text": 0,
    "promotional_posts": 0,
    "non_promotional_share": None,
    "effort_ratio": 0.0,
    "own_posts": 0,
    "accessible_posts": 0,
    "accessibility_share": None,
    "trust_presence_share": None,
    "score_notes": "trust: no public questions and no activity this week; "
    "openness: no actions this week; involvement: no actions this week",
}


SHRUNK_RATES = [
    "answered_question_share",
    "dialogue_share",
    "own_news_share",
    "directed_at_others_share",
    "non_promotional_share",
    "accessibility_share",
]


def _scores(trust, openness, involvement, investment, commitment, overall) -> dict[str, Any]:
    return {
        "trust_score": trust,
        "openness_score": openness,
        "involvement_score": involvement,
        "investment_score": investment,
        "commitment_score": commitment,
        "overall_score": overall,
    }


def _weeks() -> dict[str, list[dict[str, Any]]]:
    """Each account's four weeks, oldest first."""
    steady_lab = ACTIVE_WEEK | {"questions_received": 10, "questions_decided": 10, "questions_answered": 9}
    steady_lab |= {"answered_question_share": 0.9} | _scores(90.0, 60.0, 50.0, 80.0, 75.0, 71.0)
    open_lab = [steady_lab, steady_lab, steady_lab]
    open_lab.append(
        ACTIVE_WEEK
        | {"questions_received": 10, "questions_decided": 10, "questions_answered": 4}
        | {"answered_question_share": 0.4, "median_response_hours": 6.0, "response_time_score": 78.3}
        | _scores(70.0, 60.0, 50.0, 80.0, 75.0, 67.0)
    )
    museum = [ACTIVE_WEEK | _scores(85.0, 70.0, 80.0, 90.0, None, 81.0) for _ in range(3)]
    museum.append(
        ACTIVE_WEEK
        | {"questions_received": 1, "questions_decided": 1, "questions_answered": 1}
        | _scores(85.0, 70.0, 80.0, 90.0, None, 80.0)
        | {"score_notes": "commitment: new account, 4 week(s) of history, fewer than the 6 required"}
    )
    theatre = [ACTIVE_WEEK | _scores(50.0, 40.0, 45.0, 60.0, 55.0, 50.0) for _ in range(3)]
    # Its single original post is not news: the raw own-news share falls 0.5, the one scored,
    # drawn toward the habit, 0.1; dialogue falls less raw (0.2) but more as scored (0.13).
    theatre.append(
        ACTIVE_WEEK
        | {"dialogue_replies": 1, "dialogue_share": 0.1, "shrunk_dialogue_share": 0.17}
        | {"original_posts": 1, "own_news_posts": 0, "own_news_share": 0.0, "shrunk_own_news_share": 0.4}
        | {"accessible_posts": 3, "accessibility_share": 0.333, "shrunk_accessibility_share": 0.5}
        | _scores(50.0, 30.0, 45.0, 50.0, 55.0, 50.0)
    )
    bank = [ACTIVE_WEEK | _scores(60.0, 30.0, 40.0, 70.0, 60.0, 52.0) for _ in range(2)]
    bank += [SILENT_WEEK | _scores(None, None, None, 0.0, 40.0, 20.0) for _ in range(2)]
    return {
        "demo:@open_lab": open_lab,
        "demo:@museum": museum,
        "demo:@theatre": theatre,
        "demo:@quiet_bank": bank,
    }


# (rule, organization, account, week, indicator, message), the latest week's in a shuffled order.
ALERTS = [
    (
        "silent_account",
        "quiet-bank",
        "demo:@quiet_bank",
        WEEKS[3],
        None,
        "no action for at least 14 days: 2 silent weeks in a row, 2026-11-09 to 2026-11-22",
    ),
    (
        "low_response_rate",
        "open-lab",
        "demo:@open_lab",
        WEEKS[3],
        None,
        "answered 4 of 10 public questions (40%) in week 2026-W47, under the 50% expected",
    ),
    (
        "score_drop",
        "open-lab",
        "demo:@open_lab",
        WEEKS[3],
        "trust",
        "trust fell 20.0 points in week 2026-W47, from 90.0 to 70.0",
    ),
    (
        "score_drop",
        "theatre",
        "demo:@theatre",
        WEEKS[1],
        "openness",
        "openness fell 20.0 points in week 2026-W45, from 60.0 to 40.0",
    ),
]

ORGANIZATIONS = [
    ("open-lab", HOSTILE_NAME, "culture", "small", "en"),
    ("museum", "City Museum", "culture", "medium", "fr"),
    ("theatre", "Little Theatre", "culture", "small", "fr"),
    ("quiet-bank", "Quiet Bank", "finance", "large", "en"),
]
ACCOUNTS = [
    ("demo:@open_lab", "open-lab", "demo", "@open_lab", "<b>Open</b> Lab"),
    ("demo:@museum", "museum", "demo", "@museum", "City Museum"),
    ("demo:@theatre", "theatre", "demo", "@theatre", "Little Theatre"),
    ("demo:@quiet_bank", "quiet-bank", "demo", "@quiet_bank", "Quiet Bank"),
]


def build_warehouse(path: Path, accounts_weeks: dict[str, list[dict[str, Any]]] | None = None) -> Path:
    """Write the tiny warehouse described in the module docstring to ``path`` (or these accounts' weeks)."""
    organization_of = {account[0]: account[1] for account in ACCOUNTS}
    connection = duckdb.connect(str(path))
    try:
        connection.execute(_DDL)
        connection.executemany("insert into marts.dim_organizations values (?, ?, ?, ?, ?)", ORGANIZATIONS)
        connection.executemany(
            "insert into marts.dim_accounts (account_id, organization_id, platform, handle, display_name) "
            "values (?, ?, ?, ?, ?)",
            ACCOUNTS,
        )
        if accounts_weeks is None:
            connection.executemany(
                "insert into marts.fct_relationship_alerts "
                "(alert_rule, organization_id, account_id, week_start_date, indicator, message) "
                "values (?, ?, ?, ?, ?, ?)",
                ALERTS,
            )
        for account_id, weeks in (accounts_weeks or _weeks()).items():
            for index, (week, values) in enumerate(zip(WEEKS, weeks, strict=True)):
                row = {
                    "account_id": account_id,
                    "organization_id": organization_of[account_id],
                    "week_start_date": week,
                    "weeks_of_history": index + 1,
                } | values
                # The rates as scored: the raw ones unless a scenario draws them toward a habit.
                for name in SHRUNK_RATES:
                    row.setdefault(f"shrunk_{name}", row[name])
                row.setdefault("shrunk_response_time_score", row["response_time_score"])
                columns = ", ".join(row)
                placeholders = ", ".join("?" for _ in row)
                connection.execute(
                    f"insert into marts.fct_relationship_scores ({columns}) values ({placeholders})",
                    list(row.values()),
                )
                connection.execute(
                    "insert into marts.fct_account_weekly_metrics values (?, ?, ?, ?, ?)",
                    [account_id, row["organization_id"], week, row["actions"], row["active_days"]],
                )
    finally:
        connection.close()
    return path


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb")


@pytest.fixture(scope="module")
def alerts(warehouse: Path) -> list[Alert]:
    return compute_alerts(warehouse)


@pytest.fixture(scope="module")
def report(warehouse: Path, alerts: list[Alert], tmp_path_factory: pytest.TempPathFactory) -> Path:
    links = {"dbt docs": "../dbt_docs/index.html", "Data Docs": "../gx_docs/index.html"}
    return write_report(warehouse, tmp_path_factory.mktemp("report"), links=links, alerts=alerts)


@pytest.fixture(scope="module")
def html(report: Path) -> str:
    return report.read_text(encoding="utf-8")


def section_of(html: str, organization_id: str) -> str:
    """The HTML of one organization's section."""
    match = re.search(
        rf'<section class="card organization" id="org-\d+-{re.escape(organization_id)}".*?</section>',
        html,
        re.S,
    )
    assert match, f"no section for {organization_id}"
    return match.group(0)


def test_compute_alerts_reads_the_latest_weeks_alerts_of_the_mart_in_order(alerts: list[Alert]):
    # Theatre's alert of an earlier week stays in the mart, out of the report.
    assert [(alert.organization_id, alert.account_id, alert.kind) for alert in alerts] == [
        ("open-lab", "demo:@open_lab", SCORE_DROP),
        ("open-lab", "demo:@open_lab", LOW_RESPONSE_RATE),
        ("quiet-bank", "demo:@quiet_bank", SILENT_ACCOUNT),
    ]
    drop, low, silent = alerts
    assert drop.message == "trust fell 20.0 points in week 2026-W47, from 90.0 to 70.0"
    assert low.message == "answered 4 of 10 public questions (40%) in week 2026-W47, under the 50% expected"
    assert silent.message.startswith("no action for at least 14 days: 2 silent weeks in a row")


def test_compute_alerts_returns_the_marts_rows_and_computes_none_itself(tmp_path: Path):
    """A project that tuned the dbt vars: the mart alone says what alerts, with its thresholds."""
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    connection = duckdb.connect(str(warehouse))
    connection.execute("delete from marts.fct_relationship_alerts")
    connection.execute(
        "insert into marts.fct_relationship_alerts (alert_rule, organization_id, account_id, week_start_date, message) "
        "values ('low_response_rate', 'museum', 'demo:@museum', ?, 'answered 1 of 1 ... under the 100% expected')",
        [WEEKS[3]],
    )
    connection.close()
    assert compute_alerts(warehouse) == [
        Alert("museum", "demo:@museum", LOW_RESPONSE_RATE, "answered 1 of 1 ... under the 100% expected")
    ]


def test_report_is_written_for_the_latest_week_with_a_latest_copy(report: Path, html: str):
    assert report.name == LATEST_WEEK_FILE
    assert (report.parent / "latest.html").read_text(encoding="utf-8") == html
    assert "<title>Rapport relationship report, ISO week 2026-W47</title>" in html
    assert "Monday 16 Nov 2026 to Sunday 22 Nov 2026" in html
    assert re.search(r"generated <time datetime=\"\d{4}-\d\d-\d\dT", html)


def test_report_is_self_contained(html: str):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html and "url(" not in html
    assert "<style>" in html


def test_report_has_one_section_per_organization_ordered_by_overall_score(html: str):
    sections = re.findall(r'<section class="card organization" id="org-(\d+)-([a-z-]+)"', html)
    assert sections == [("1", "museum"), ("2", "open-lab"), ("3", "theatre"), ("4", "quiet-bank")]
    contents = html[html.index('id="contents"') : html.index('<section class="card organization"')]
    assert [anchor for anchor in re.findall(r'href="#org-\d+-([a-z-]+)"', contents)] == [
        "museum",
        "open-lab",
        "theatre",
        "quiet-bank",
    ]


def test_each_section_has_a_radar_and_a_trend_chart_per_score(html: str):
    for organization_id in ("museum", "open-lab", "theatre", "quiet-bank"):
        section = section_of(html, organization_id)
        assert section.count('<svg class="radar"') == 1
        assert '<polygon class="latest"' in section and '<polygon class="average"' in section
        assert section.count('<figure class="trend">') == 6
        assert section.count('role="img"') == 7
        assert section.count("<title id=") == 7


def test_trend_lines_break_where_a_score_is_null(html: str):
    section = section_of(html, "quiet-bank")
    trust_chart = section[section.index('-trend-trust-title"') : section.index('-trend-openness-title"')]
    assert 'class="gap"' in trust_chart
    assert "not measurable in 2 of 4 weeks" in trust_chart


def test_data_values_are_escaped(html: str):
    assert "Open &lt;script&gt;alert(1)&lt;/script&gt; Lab" in html
    assert "<script>alert" not in html
    assert "&lt;b&gt;Open&lt;/b&gt; Lab" in html
    assert "<b>Open</b>" not in html


def test_what_moved_names_the_component_that_moved_most(html: str):
    section = section_of(html, "open-lab")
    assert (
        "Trust fell 20.0 points, from 90.0 to 70.0: answered questions went from 9/10 to 4/10, "
        "median response time rose from 0.5 h to 6.0 h." in section
    )
    assert "Overall fell 4.0 points, from 71.0 to 67.0." in section


def test_what_moved_explains_openness_and_investment_by_the_components_methodology_0_2_scores(html: str):
    """Dialogue (replies to the public and on others' posts) and accessible posts, ranked by the
    rates as scored (drawn toward the habit), not by the raw ones; presence is no part of investment."""
    section = section_of(html, "theatre")
    assert (
        "Openness fell 10.0 points, from 40.0 to 30.0: replies to the public and on others&#39; posts went "
        "from 3 of 10 actions to 1 of 10 actions, posts about its own news and plans went from "
        "2 of 4 original posts to 0 of 1 original posts." in section
    )
    assert (
        "Investment fell 10.0 points, from 60.0 to 50.0: accessible posts (every image described, "
        "or no image) went from 9 of 9 own posts to 3 of 9 own posts." in section
    )
    assert "images with alt text" not in html


def test_peer_rank_is_given_within_the_peer_group(html: str):
    assert "2nd of 3 in culture" in section_of(html, "open-lab")
    assert "1st of 3 in culture" in section_of(html, "museum")
    bank = section_of(html, "quiet-bank")
    assert "1st of 1 in finance" in bank
    assert "not ranked (not measurable)" in bank


def test_coverage_warnings_explain_null_scores_and_thin_data(html: str):
    museum = section_of(html, "museum")
    assert "commitment not scored: new account, 4 week(s) of history, fewer than the 6 required." in museum
    assert "Only 1 public question decided, fewer than the 2 of a full answer rate" in museum
    assert "New account: 4 weeks of history" in museum
    bank = section_of(html, "quiet-bank")
    assert "trust not scored: no public questions and no activity this week." in bank
    assert "Silent week: the account published nothing" in bank


def test_alerts_appear_at_the_top_and_in_their_section(html: str):
    top = html[html.index('aria-labelledby="alerts-heading"') : html.index('id="contents"')]
    assert "Relationship-health alerts (3)" in top
    assert "trust fell 20.0 points in week 2026-W47, from 90.0 to 70.0" in top
    assert "answered 4 of 10 public questions (40%)" in top
    assert "no action for at least 14 days" in top
    assert "Open &lt;script&gt;alert(1)&lt;/script&gt; Lab</a>" in top
    assert "trust fell 20.0 points" in section_of(html, "open-lab")
    assert "no action for at least 14 days" in section_of(html, "quiet-bank")
    assert "Alerts for City Museum" not in section_of(html, "museum")


def test_links_are_listed_in_the_footer(html: str):
    footer = html[html.index("<footer>") :]
    assert '<a href="../dbt_docs/index.html">dbt docs</a>' in footer
    assert '<a href="../gx_docs/index.html">Data Docs</a>' in footer


def test_without_alerts_the_alert_box_is_left_out_and_an_empty_list_says_so(warehouse: Path, tmp_path: Path):
    without = write_report(warehouse, tmp_path / "none").read_text(encoding="utf-8")
    assert "alerts-heading" not in without
    empty = write_report(warehouse, tmp_path / "empty", alerts=[]).read_text(encoding="utf-8")
    assert "No relationship-health alert this week." in empty


def test_a_link_with_a_script_scheme_is_refused(warehouse: Path, tmp_path: Path):
    with pytest.raises(ValueError, match="javascript"):
        write_report(warehouse, tmp_path, links={"bad": "javascript:alert(1)"})


def test_writing_leaves_no_temporary_file(report: Path):
    assert sorted(path.name for path in report.parent.iterdir()) == ["latest.html", LATEST_WEEK_FILE]


def test_a_failed_write_keeps_the_previous_report_and_no_temporary_file(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "latest.html").write_text("previous report", encoding="utf-8")

    def failing_fsync(descriptor: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_report(warehouse, tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["latest.html"]
    assert (tmp_path / "latest.html").read_text(encoding="utf-8") == "previous report"


def test_an_empty_warehouse_is_an_error(tmp_path: Path):
    path = tmp_path / "empty.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute(_DDL)
    connection.close()
    with pytest.raises(ReportError, match="empty"):
        write_report(path, tmp_path / "out")
    assert compute_alerts(path) == []
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "missing.duckdb", tmp_path / "out")


@pytest.mark.parametrize(
    ("state", "moved_to", "expected"),
    [
        ("suspended", None, "suspended on mastodon.social since 2026-11-16"),
        ("moved", "@bank@elsewhere.example", "moved to @bank@elsewhere.example since 2026-11-16"),
    ],
)
def test_an_account_that_is_not_active_is_shown_with_its_state_not_with_scores_read_as_a_collapse(
    tmp_path: Path, state: str, moved_to: str | None, expected: str
):
    """Issue 15: quiet-bank's account was suspended (or moved) on 2026-11-16, the week its scores fell."""
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    connection = duckdb.connect(str(warehouse))
    connection.execute(
        "update marts.dim_accounts set platform = 'mastodon', instance = 'mastodon.social', "
        "account_state = ?, moved_to_handle = ?, state_observed_since = timestamp '2026-11-16 00:00:00' "
        "where account_id = 'demo:@quiet_bank'",
        [state, moved_to],
    )
    connection.close()
    html = write_report(warehouse, tmp_path / "report").read_text(encoding="utf-8")
    bank = section_of(html, "quiet-bank")
    assert f'<span class="account-state">{expected}</span>' in bank
    assert f"@quiet_bank: {expected}" in bank
    assert "Silent week" not in bank and "overall fell" not in bank.lower()
    assert expected not in section_of(html, "museum")


def test_an_account_the_latest_run_did_not_reach_is_shown_as_not_reached_with_its_last_observation(
    tmp_path: Path,
):
    """Issue 15: quiet-bank's account was last observed on 2026-11-16; the latest run did not reach it."""
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    connection = duckdb.connect(str(warehouse))
    connection.execute(
        "update marts.dim_accounts set is_unreachable = true, last_observed_at = timestamp '2026-11-16 00:00:00' "
        "where account_id = 'demo:@quiet_bank'"
    )
    connection.close()
    html = write_report(warehouse, tmp_path / "report").read_text(encoding="utf-8")
    bank = section_of(html, "quiet-bank")
    expected = "not reached by the latest run, last observed 2026-11-16"
    assert f'<span class="account-state">{expected}</span>' in bank
    assert f"@quiet_bank: {expected}. Its latest counts were not observed: not a collapse." in bank
    assert "overall fell" not in bank.lower()
    assert "not reached" not in section_of(html, "museum")


def test_a_week_without_questions_says_trust_draws_on_the_accounts_habit_when_it_has_one():
    from rapport.publish.report import _describe_coverage

    quiet = {"actions": 4, "questions_received": 0, "questions_decided": 0, "trust_score": 62.0}
    with_habit = _describe_coverage(quiet | {"shrunk_answered_question_share": 0.8})
    without = _describe_coverage(quiet | {"shrunk_answered_question_share": None})

    assert any("usual answer rate and response time" in line for line in with_habit)
    assert not any("presence alone" in line for line in with_habit)
    assert any("trust rests on presence alone" in line for line in without)
    one = {"actions": 4, "questions_received": 1, "questions_decided": 1, "trust_score": 70.0}
    assert any(
        "leans on the account's earlier weeks" in line
        for line in _describe_coverage(one | {"shrunk_answered_question_share": 0.6})
    )


def test_a_week_read_from_exports_says_what_its_files_left_out_and_why_a_gap_is_not_scored():
    from rapport.publish.report import _describe_coverage, _describe_moves

    covered = {
        "actions": 3,
        "trust_score": None,
        "score_notes": "trust: LinkedIn Page analytics: content export holds no comments: the public's "
        "questions and the answers are not seen",
        "coverage_notes": "openness: dialogue share not in LinkedIn Page analytics: content export; "
        "investment: alt text not in LinkedIn Page analytics: content export",
    }
    lines = _describe_coverage(covered)
    assert "openness leaves out its dialogue share not in LinkedIn Page analytics: content export." in lines
    assert "investment leaves out its alt text not in LinkedIn Page analytics: content export." in lines
    gap = {"actions": 0, "overall_score": None, "score_notes": "exports: no file covers this week"}
    assert "Not scored: no file covers this week (the account is read from its analytics exports)." in (
        _describe_coverage(gap)
    )
    before = {"overall_score": 50.0, "openness_score": 40.0}
    moved = _describe_moves(before, gap | {"openness_score": None})
    assert "Openness could not be scored this week (no file covers this week); it was 40.0." in moved
