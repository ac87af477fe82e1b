"""The weekly HTML report, on a tiny warehouse of marts built with SQL.

Four organizations over five ISO weeks (2026-W43 to 2026-W47), one account each; the
marts the report reads (fct_organization_weekly_scores, fct_score_changes,
fct_relationship_alerts, fct_open_questions) are written here as dbt would write them:
- open-lab (culture; its name holds a script tag): trust falls 90 -> 70 in W47
  because it answered 4 of 10 questions instead of 9 of 10, in 6 h instead of 0.5 h;
  two questions unanswered, three slowest answers;
- museum (culture): the best; commitment NULL in W47 (new account), one question;
- theatre (culture): the weakest of the culture group; in W47 its dialogue and
  its accessible posts fall (openness 40 -> 30, investment 60 -> 50);
- quiet-bank (finance): silent in W46 and W47; alone in its peer group, so not ranked.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date, datetime, timedelta
from html import escape
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rapport.publish.report import (
    LOW_RESPONSE_RATE,
    SCORE_DROP,
    SILENT_ACCOUNT,
    ReportError,
    read_alerts,
    write_report,
)
from tests.conftest import PROJECT_ROOT

WEEKS = [date(2026, 10, 19) + timedelta(weeks=index) for index in range(5)]
LATEST_WEEK_FILE = "rapport-2026-W47.html"
HOSTILE_NAME = "Open <script>alert(1)</script> Lab"
HOSTILE_QUESTION = "Why <img src=x onerror=alert(1)> no answer?"
INDICATORS = ("trust", "openness", "involvement", "investment", "commitment")
SCORES = (*INDICATORS, "overall")

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
create table marts.fct_organization_weekly_scores (
    organization_id varchar, organization_name varchar, peer_group varchar, size_band varchar,
    week_start_date date, iso_year integer, iso_week integer, methodology_version varchar,
    trust_score double, openness_score double, involvement_score double, investment_score double,
    commitment_score double, overall_score double, score_notes varchar, weighting varchar,
    accounts_registered integer, accounts_scored integer, platforms_scored varchar, coverage_share double,
    overall_change_1w double, overall_change_4w double, peer_group_size integer, peer_rank integer,
    peer_percentile double
);
create table marts.fct_score_changes (
    subject_type varchar, subject_id varchar, organization_id varchar, account_id varchar, platform varchar,
    week_start_date date, previous_week_start_date date, indicator varchar, component varchar, unit varchar,
    value double, previous_value double, change double
);
create table marts.fct_relationship_alerts (
    alert_id varchar, alert_rule varchar, subject_type varchar, subject_id varchar, organization_id varchar,
    account_id varchar, platform varchar, week_start_date date, indicator varchar, value double,
    previous_value double, threshold double, message varchar
);
create table marts.fct_open_questions (
    organization_id varchar, account_id varchar, platform varchar, week_start_date date,
    interaction_id varchar, asked_at timestamp, author_handle varchar, question_text varchar, status varchar,
    answered_at timestamp, answer_post_id varchar, response_hours double, question_url varchar,
    answer_url varchar, is_slowest_answer boolean
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
    """Each account's five weeks, oldest first."""
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
    # W43 as W44: a fifth week, so that the 4-week change is defined.
    return {
        "demo:@open_lab": open_lab[:1] + open_lab,
        "demo:@museum": museum[:1] + museum,
        "demo:@theatre": theatre[:1] + theatre,
        "demo:@quiet_bank": bank[:1] + bank,
    }


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


# The components fct_score_changes explains each indicator with: (column, unit).
COMPONENTS = {
    "trust": [
        ("shrunk_answered_question_share", "share"),
        ("shrunk_response_time_score", "points"),
        ("trust_presence_share", "share"),
    ],
    "openness": [("shrunk_dialogue_share", "share"), ("shrunk_own_news_share", "share")],
    "involvement": [("shrunk_directed_at_others_share", "share"), ("shrunk_non_promotional_share", "share")],
    "investment": [("effort_ratio", "share"), ("shrunk_accessibility_share", "share")],
    "commitment": [
        ("sustained_quality_score", "points"),
        ("active_week_share", "share"),
        ("burst_penalty", "share"),
    ],
}
WEIGHTING = "by activity: each account's scores weighted by its actions of the week"

# The alerts of the marts: W47's three, and one of W46 the report must not show.
ALERTS = [
    (
        "score_drop|demo:@open_lab|trust|2026-11-16",
        SCORE_DROP,
        "demo:@open_lab",
        "open-lab",
        WEEKS[4],
        "trust",
        "trust fell 20.0 points in week 2026-W47, from 90.0 to 70.0",
    ),
    (
        "low_response_rate|demo:@open_lab|2026-11-16",
        LOW_RESPONSE_RATE,
        "demo:@open_lab",
        "open-lab",
        WEEKS[4],
        None,
        "answered 4 of 10 public questions (40%) in week 2026-W47, under the 50% expected",
    ),
    (
        "silent_account|demo:@quiet_bank|2026-11-16",
        SILENT_ACCOUNT,
        "demo:@quiet_bank",
        "quiet-bank",
        WEEKS[4],
        None,
        "no action for at least 14 days: 2 silent weeks in a row, 2026-11-09 to 2026-11-22",
    ),
    (
        "score_drop|demo:@theatre|openness|2026-11-09",
        SCORE_DROP,
        "demo:@theatre",
        "theatre",
        WEEKS[3],
        "openness",
        "an alert of week 2026-W46, not of this report",
    ),
]


def _question(number: int, week: date, status: str, hours: float | None, slowest: bool, **values: Any):
    asked_at = datetime.combine(week, datetime.min.time()) + timedelta(days=1, hours=number)
    return {
        "organization_id": "open-lab",
        "account_id": "demo:@open_lab",
        "platform": "demo",
        "week_start_date": week,
        "interaction_id": f"demo:q{number}",
        "asked_at": asked_at,
        "author_handle": f"@reader{number}",
        "question_text": f"Question number {number}?",
        "status": status,
        "answered_at": None if hours is None else asked_at + timedelta(hours=hours),
        "answer_post_id": None if hours is None else f"a{number}",
        "response_hours": hours,
        "question_url": f"https://demo.example/@reader{number}/q{number}",
        "answer_url": None if hours is None else f"https://demo.example/@open_lab/a{number}",
        "is_slowest_answer": slowest,
    } | values


QUESTIONS = [
    _question(1, WEEKS[4], "unanswered", None, False, question_text=HOSTILE_QUESTION),
    _question(2, WEEKS[4], "unanswered", None, False, question_url="javascript:alert(2)"),
    _question(3, WEEKS[4], "answered", 30.0, True),
    _question(4, WEEKS[4], "answered", 12.5, True, answer_url="data:text/html,<b>x</b>"),
    _question(5, WEEKS[4], "answered", 6.0, True),
    _question(6, WEEKS[4], "answered", 0.5, False, question_text="A quick one, answered fast"),
    _question(7, WEEKS[3], "unanswered", None, False, question_text="A question of last week"),
]


def _insert(connection: duckdb.DuckDBPyConnection, table: str, row: dict[str, Any]) -> None:
    placeholders = ", ".join("?" for _ in row)
    connection.execute(
        f"insert into marts.{table} ({', '.join(row)}) values ({placeholders})", list(row.values())
    )


def _change(subject: dict[str, Any], week: int, indicator: str, component: str, unit: str, rows) -> dict:
    now, before = rows[week].get(component), rows[week - 1].get(component) if week else None
    return subject | {
        "week_start_date": WEEKS[week],
        "previous_week_start_date": WEEKS[week - 1] if week else None,
        "indicator": indicator,
        "component": "score" if component == f"{indicator}_score" else component,
        "unit": unit,
        "value": now,
        "previous_value": before,
        "change": None if now is None or before is None else round(now - before, 4),
    }


def _overall_change(weeks: list[dict[str, Any]], index: int, back: int) -> float | None:
    now = weeks[index]["overall_score"]
    earlier = weeks[index - back]["overall_score"] if index >= back else None
    return None if now is None or earlier is None else now - earlier


def _organization_weeks(scores: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """fct_organization_weekly_scores as dbt writes it, for one account per organization."""
    organizations = {organization[0]: organization for organization in ORGANIZATIONS}
    rows = []
    for account_id, weeks in scores.items():
        organization_id, name, peer_group, size_band, _ = organizations[ORGANIZATION_OF[account_id]]
        for index, values in enumerate(weeks):
            overall = values["overall_score"]

            iso = WEEKS[index].isocalendar()
            rows.append(
                {
                    "organization_id": organization_id,
                    "organization_name": name,
                    "peer_group": peer_group,
                    "size_band": size_band,
                    "week_start_date": WEEKS[index],
                    "iso_year": iso[0],
                    "iso_week": iso[1],
                    "methodology_version": "0.3",
                    **{f"{score}_score": values[f"{score}_score"] for score in SCORES},
                    "score_notes": None if overall is not None else "no account has an overall score",
                    "weighting": WEIGHTING,
                    "accounts_registered": 1,
                    "accounts_scored": int(overall is not None),
                    "platforms_scored": "demo" if overall is not None else None,
                    "coverage_share": float(overall is not None),
                    "overall_change_1w": _overall_change(weeks, index, 1),
                    "overall_change_4w": _overall_change(weeks, index, 4),
                }
            )
    for row in rows:  # competition ranking within the peer group; under 2 organizations, no rank
        peers = [
            other["overall_score"]
            for other in rows
            if other["peer_group"] == row["peer_group"]
            and other["week_start_date"] == row["week_start_date"]
            and other["overall_score"] is not None
        ]
        row["peer_group_size"] = len(peers)
        rank = (
            1 + sum(peer > row["overall_score"] for peer in peers)
            if row["overall_score"] is not None
            else None
        )
        ranked = rank is not None and len(peers) >= 2
        row["peer_rank"] = rank if ranked else None
        row["peer_percentile"] = round(100 * (len(peers) - rank) / (len(peers) - 1), 1) if ranked else None
    return rows


ORGANIZATION_OF = {account[0]: account[1] for account in ACCOUNTS}


def build_warehouse(path: Path, accounts_weeks: dict[str, list[dict[str, Any]]] | None = None) -> Path:
    """Write the tiny warehouse described in the module docstring to ``path`` (or these accounts' weeks)."""
    scores: dict[str, list[dict[str, Any]]] = {}
    for account_id, weeks in (accounts_weeks or _weeks()).items():
        scores[account_id] = []
        for index, values in enumerate(weeks):
            row = {
                "account_id": account_id,
                "organization_id": ORGANIZATION_OF[account_id],
                "week_start_date": WEEKS[index],
                "weeks_of_history": index + 1,
            } | values
            # The rates as scored: the raw ones unless a scenario draws them toward a habit.
            for name in SHRUNK_RATES:
                row.setdefault(f"shrunk_{name}", row[name])
            row.setdefault("shrunk_response_time_score", row["response_time_score"])
            scores[account_id].append(row)
    connection = duckdb.connect(str(path))
    try:
        connection.execute(_DDL)
        connection.executemany("insert into marts.dim_organizations values (?, ?, ?, ?, ?)", ORGANIZATIONS)
        connection.executemany(
            "insert into marts.dim_accounts (account_id, organization_id, platform, handle, display_name) "
            "values (?, ?, ?, ?, ?)",
            ACCOUNTS,
        )
        for account_id, rows in scores.items():
            for week, row in enumerate(rows):
                _insert(connection, "fct_relationship_scores", row)
                account = {
                    "subject_type": "account",
                    "subject_id": account_id,
                    "organization_id": row["organization_id"],
                    "account_id": account_id,
                    "platform": "demo",
                }
                for indicator in SCORES:
                    _insert(
                        connection,
                        "fct_score_changes",
                        _change(account, week, indicator, f"{indicator}_score", "points", rows),
                    )
                    for component, unit in COMPONENTS.get(indicator, []):
                        _insert(
                            connection,
                            "fct_score_changes",
                            _change(account, week, indicator, component, unit, rows),
                        )
        organization_weeks = _organization_weeks(scores)
        for row in organization_weeks:
            _insert(connection, "fct_organization_weekly_scores", row)
        by_organization: dict[str, list[dict[str, Any]]] = {}
        for row in organization_weeks:
            by_organization.setdefault(row["organization_id"], []).append(row)
        for organization_id, rows in by_organization.items():
            subject = {
                "subject_type": "organization",
                "subject_id": organization_id,
                "organization_id": organization_id,
                "account_id": None,
                "platform": None,
            }
            for week in range(len(rows)):
                for indicator in SCORES:
                    _insert(
                        connection,
                        "fct_score_changes",
                        _change(subject, week, indicator, f"{indicator}_score", "points", rows),
                    )
        for alert_id, rule, account_id, organization_id, week, indicator, message in ALERTS:
            _insert(
                connection,
                "fct_relationship_alerts",
                {
                    "alert_id": alert_id,
                    "alert_rule": rule,
                    "subject_type": "account",
                    "subject_id": account_id,
                    "organization_id": organization_id,
                    "account_id": account_id,
                    "platform": "demo",
                    "week_start_date": week,
                    "indicator": indicator,
                    "message": message,
                },
            )
        for question in QUESTIONS:
            _insert(connection, "fct_open_questions", question)
    finally:
        connection.close()
    return path


def build_changed_warehouse(path: Path, sql: str, parameters: list[Any]) -> Path:
    """The tiny warehouse, with one SQL statement run on it."""
    warehouse = build_warehouse(path)
    connection = duckdb.connect(str(warehouse))
    try:
        connection.execute(sql, parameters)
    finally:
        connection.close()
    return warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb")


@pytest.fixture(scope="module")
def report(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    links = {"dbt docs": "../dbt_docs/index.html", "Data Docs": "../gx_docs/index.html"}
    return write_report(warehouse, tmp_path_factory.mktemp("report"), links=links)


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


class Shown(HTMLParser):
    """What a report prints: each section's score cells, the summary's overall, the alerts' ids and
    messages."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.scores: dict[tuple[str, str], str] = {}
        self.summary: dict[str, str] = {}
        self.alerts: list[tuple[str, str]] = []
        self._organization: str | None = None
        self._score: str | None = None
        self._summary_row: str | None = None
        self._alert: str | None = None
        self._target: tuple[str, Any] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "section" and "organization" in classes:
            self._organization = attributes["data-organization"]
        elif tag == "tr" and "data-score" in attributes:
            self._score = attributes["data-score"]
        elif tag == "tr" and "data-organization" in attributes:
            self._summary_row = attributes["data-organization"]
        elif tag == "li" and "data-alert-id" in attributes:
            self._alert = attributes["data-alert-id"]
        elif tag == "span" and "value" in classes and self._score and self._organization:
            self._target = ("score", (self._organization, self._score))
        elif tag == "td" and "overall" in classes and self._summary_row:
            self._target = ("summary", self._summary_row)
        elif tag == "span" and "message" in classes and self._alert:
            self._target = ("alert", self._alert)

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._score = self._summary_row = None
        if tag == "section":
            self._organization = None

    def handle_data(self, data: str) -> None:
        if self._target is None:
            return
        kind, key = self._target
        self._target = None
        if kind == "score":
            self.scores[key] = data.strip()
        elif kind == "summary":
            self.summary[key] = data.strip()
        else:
            self.alerts.append((key, data))


def assert_the_report_shows_the_marts(html: str, warehouse: Path) -> None:
    """Every organization's overall and indicator scores printed are fct_organization_weekly_scores' of the
    latest week (to one decimal), and every alert printed is one of fct_relationship_alerts'."""
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        columns = ", ".join(f"{score}_score" for score in SCORES)
        rows = connection.execute(
            f"select organization_id, {columns} from marts.fct_organization_weekly_scores "
            "where week_start_date = (select max(week_start_date) from marts.fct_organization_weekly_scores)"
        ).fetchall()
        alerts = dict(
            connection.execute("select alert_id, message from marts.fct_relationship_alerts").fetchall()
        )
    finally:
        connection.close()
    shown = Shown(html)
    expected = {
        (organization_id, score): "n/a" if value is None else f"{value:.1f}"
        for organization_id, *values in rows
        for score, value in zip(SCORES, values, strict=True)
    }
    assert shown.scores == expected
    assert shown.summary == {key[0]: value for key, value in expected.items() if key[1] == "overall"}
    assert shown.alerts, "no alert printed"
    for alert_id, message in shown.alerts:
        assert alerts.get(alert_id) == message


def test_the_reports_numbers_are_the_marts(html: str, warehouse: Path):
    assert_the_report_shows_the_marts(html, warehouse)


def test_the_organization_scores_are_the_marts_not_a_mean_of_the_accounts(tmp_path: Path):
    """The report prints fct_organization_weekly_scores as it is: an overall and a change the accounts'
    scores would not give (the weighting is dbt's) are shown unchanged."""
    warehouse = build_changed_warehouse(
        tmp_path / "warehouse.duckdb",
        "update marts.fct_organization_weekly_scores set overall_score = 42.4, trust_score = 12.3, "
        "overall_change_1w = -7.7, overall_change_4w = 3.3, peer_rank = 3, peer_group_size = 3, "
        "peer_percentile = 0 where organization_id = 'museum' and week_start_date = ?",
        [WEEKS[-1]],
    )
    html = write_report(warehouse, tmp_path / "report").read_text(encoding="utf-8")
    museum = section_of(html, "museum")
    assert "42.4" in museum and "12.3" in museum and "▼ −7.7" in museum
    assert "3rd of 3 in culture (0th percentile)" in museum
    summary = html[html.index('id="summary"') : html.index('id="alerts"')]
    assert re.search(r'data-organization="museum">.*?▼ −7\.7.*?▲ \+3\.3', summary, re.S)
    assert_the_report_shows_the_marts(html, warehouse)


def test_read_alerts_gives_the_latest_weeks_alerts_of_the_mart(warehouse: Path):
    alerts = read_alerts(warehouse)
    assert [(alert.organization_id, alert.account_id, alert.kind) for alert in alerts] == [
        ("open-lab", "demo:@open_lab", LOW_RESPONSE_RATE),
        ("open-lab", "demo:@open_lab", SCORE_DROP),
        ("quiet-bank", "demo:@quiet_bank", SILENT_ACCOUNT),
    ]
    assert alerts[1].message == "trust fell 20.0 points in week 2026-W47, from 90.0 to 70.0"


def test_the_report_module_holds_no_methodology():
    """No copy of a dbt var or a setting, no HTML: the report presents what the marts hold."""
    source = (PROJECT_ROOT / "plugins" / "rapport" / "publish" / "report.py").read_text(encoding="utf-8")
    for copied in (
        "MIN_QUESTIONS_FOR_RESPONSE_RATE",
        "COMMITMENT_WINDOW_WEEKS",
        "MIN_ACTIONS",
        "drop_points",
        "fct_account_weekly_metrics",
        "<html",
        "<svg",
    ):
        assert copied not in source


def test_the_template_is_a_package_data_file(report: Path):
    template = files("rapport.publish") / "templates" / "report.html.j2"
    assert template.is_file()
    assert "{% for section in report.sections %}" in template.read_text(encoding="utf-8")
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "publish/templates/*.j2" in pyproject["tool"]["setuptools"]["package-data"]["rapport"]


def test_report_is_written_for_the_latest_week_with_a_latest_copy(report: Path, html: str):
    assert report.name == LATEST_WEEK_FILE
    assert (report.parent / "latest.html").read_text(encoding="utf-8") == html
    assert "<title>Rapport relationship report, ISO week 2026-W47</title>" in html
    assert "Monday 16 Nov 2026 to Sunday 22 Nov 2026" in html
    assert re.search(r"generated <time datetime=\"\d{4}-\d\d-\d\dT", html)


def test_report_is_self_contained(html: str):
    assert not re.search(r"""<[^>]*\ssrc\s*=""", html, re.I)
    # The only absolute links are the evidence's, to the posts on their platform (followed, not fetched).
    outside_evidence = re.sub(r'<details class="evidence">.*?</details>', "", html, flags=re.S)
    assert not re.search(r"""href\s*=\s*["']?\s*(https?:)?//""", outside_evidence, re.I)
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html and "url(" not in html
    assert "<style>" in html


def test_the_summary_on_top_gives_each_overall_its_changes_the_riser_the_faller_and_the_alert_count(
    html: str,
):
    summary = html[html.index('id="summary"') : html.index('id="alerts"')]
    assert html.index('id="summary"') < html.index('<section class="card organization"')
    rows = re.findall(r'<tr data-organization="([a-z-]+)">(.*?)</tr>', summary, re.S)
    assert [organization for organization, _ in rows] == ["museum", "open-lab", "theatre", "quiet-bank"]
    cells = {organization: re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for organization, row in rows}
    # overall, vs last week, vs 4 weeks: open-lab 71 -> 67 (W46, W43); quiet-bank 20, 20, 52 in W43.
    assert cells["open-lab"][1:4] == ["67.0", "▼ −4.0", "▼ −4.0"]
    assert cells["quiet-bank"][1:4] == ["20.0", "= 0.0", "▼ −32.0"]
    assert "2nd of 3 in culture (50th percentile)" in cells["open-lab"][4]
    riser = re.search(r'<li class="riser">(.*?)</li>', summary, re.S).group(1)
    faller = re.search(r'<li class="faller">(.*?)</li>', summary, re.S).group(1)
    assert "no organization rose" in riser
    assert "Open &lt;script&gt;" in faller and "▼ −4.0" in faller and "71.0 → 67.0" in faller
    assert "3 relationship-health alerts" in summary


def test_report_has_one_section_per_organization_ordered_by_overall_score(html: str):
    sections = re.findall(r'<section class="card organization" id="org-(\d+)-([a-z-]+)"', html)
    assert sections == [("1", "museum"), ("2", "open-lab"), ("3", "theatre"), ("4", "quiet-bank")]


def test_each_section_has_a_radar_and_a_trend_chart_per_score_with_tooltips_on_the_points(html: str):
    for organization_id in ("museum", "open-lab", "theatre", "quiet-bank"):
        section = section_of(html, organization_id)
        assert section.count('<svg class="radar"') == 1
        assert '<polygon class="latest"' in section and '<polygon class="earlier"' in section
        assert section.count('<figure class="trend">') == 6
        assert section.count('role="img"') == 7
        points = re.findall(r"<circle [^>]*><title>([^<]*)</title></circle>", section)
        assert len(points) == section.count("<circle ")
    open_lab = section_of(html, "open-lab")
    assert "<title>2026-W47: trust 70.0</title>" in open_lab
    assert "<title>trust, Week 2026-W47: 70.0</title>" in open_lab
    assert "<title>trust, 4 weeks before (2026-W43): 90.0</title>" in open_lab


def test_the_details_are_folded_so_the_default_page_is_short(html: str):
    for organization_id in ("museum", "open-lab"):
        section = section_of(html, organization_id)
        folded = re.findall(r'<details class="([a-z-]+)">', section)
        assert folded == ["moves", "coverage-details", "evidence", "trends-details", "accounts"]
        assert "<details open" not in section
        trends = section.index('<div class="trends">')
        assert section.rindex('<details class="trends-details">', 0, trends) > 0


def test_trend_lines_break_where_a_score_is_null(html: str):
    section = section_of(html, "quiet-bank")
    trust_chart = section[section.index('-trend-trust-title"') : section.index('-trend-openness-title"')]
    assert 'class="gap"' in trust_chart
    assert "not measurable in 2 of 5 weeks" in trust_chart


def test_data_values_are_escaped(html: str):
    assert "Open &lt;script&gt;alert(1)&lt;/script&gt; Lab" in html
    assert "<script>alert" not in html
    assert "&lt;b&gt;Open&lt;/b&gt; Lab" in html
    assert "<b>Open</b>" not in html
    assert "Why &lt;img src=x onerror=alert(1)&gt; no answer?" in html


def test_the_evidence_lists_the_weeks_unanswered_questions_and_slowest_answers_linked(html: str):
    evidence = re.search(
        r'<details class="evidence">.*?</details>', section_of(html, "open-lab"), re.S
    ).group(0)
    assert "2 unanswered questions, 3 slowest answers" in evidence
    unanswered = re.search(r'<ul class="questions unanswered">(.*?)</ul>', evidence, re.S).group(1)
    slowest = re.search(r'<ul class="questions slowest">(.*?)</ul>', evidence, re.S).group(1)
    assert (
        '<a href="https://demo.example/@reader1/q1" rel="noopener noreferrer">the question</a>' in unanswered
    )
    assert "Question number 2?" in unanswered and "javascript:" not in html  # not linked
    assert [hours for hours in re.findall(r"answered in ([\d.]+ h)", slowest)] == ["30 h", "12 h", "6.0 h"]
    assert '<a href="https://demo.example/@open_lab/a3" rel="noopener noreferrer">the answer</a>' in slowest
    assert "data:text" not in html and "no link to the answer" in slowest
    assert "A quick one" not in html and "A question of last week" not in html
    assert "0 unanswered questions, 0 slowest answers" in section_of(html, "museum")


def test_what_moved_names_the_component_that_moved_most(html: str):
    section = section_of(html, "open-lab")
    assert (
        "Trust fell 20.0 points, from 90.0 to 70.0: answered questions (as scored) fell from 90% to 40%, "
        "response time score (as scored) fell from 100.0 to 78.3." in section
    )
    assert "Overall fell 4.0 points, from 71.0 to 67.0." in section


def test_what_moved_explains_openness_and_investment_by_the_components_as_scored(html: str):
    """Dialogue (replies to the public and on others' posts) and accessible posts, ranked by the
    rates as scored (drawn toward the habit), not by the raw ones."""
    section = section_of(html, "theatre")
    assert (
        "Openness fell 10.0 points, from 40.0 to 30.0: replies to the public and on others&#39; posts "
        "(as scored) fell from 30% to 17%, posts about its own news and plans (as scored) fell from 50% to 40%."
        in section
    )
    assert (
        "Investment fell 10.0 points, from 60.0 to 50.0: accessible posts (every image described, "
        "or no image; as scored) fell from 100% to 50%." in section
    )


def test_peer_rank_is_the_marts_within_the_peer_group(html: str):
    assert "2nd of 3 in culture (50th percentile)" in section_of(html, "open-lab")
    assert "1st of 3 in culture (100th percentile)" in section_of(html, "museum")
    assert "not ranked (1 scored in finance, too few to rank)" in section_of(html, "quiet-bank")


def test_coverage_warnings_explain_null_scores_and_thin_data(html: str):
    museum = section_of(html, "museum")
    assert "commitment not scored: new account, 4 week(s) of history, fewer than the 6 required." in museum
    assert f"Weighting of the accounts: {escape(WEIGHTING).replace('&#x27;', '&#39;')}." in museum
    assert "1 of 1 account scored (100%) on demo" in museum
    bank = section_of(html, "quiet-bank")
    assert "trust not scored: no public questions and no activity this week." in bank
    assert "Silent week: the account published nothing" in bank


def test_alerts_appear_at_the_top_and_in_their_section(html: str):
    top = html[
        html.index('aria-labelledby="alerts-heading"') : html.index('<section class="card organization"')
    ]
    assert "Relationship-health alerts (3)" in top
    assert "trust fell 20.0 points in week 2026-W47, from 90.0 to 70.0" in top
    assert "answered 4 of 10 public questions (40%)" in top
    assert "no action for at least 14 days" in top
    assert "Open &lt;script&gt;alert(1)&lt;/script&gt; Lab</a>" in top
    assert "trust fell 20.0 points" in section_of(html, "open-lab")
    assert "no action for at least 14 days" in section_of(html, "quiet-bank")
    assert "Alerts for City Museum" not in section_of(html, "museum")
    assert "not of this report" not in html


def test_links_are_listed_in_the_footer(html: str):
    footer = html[html.index("<footer>") :]
    assert '<a href="../dbt_docs/index.html">dbt docs</a>' in footer
    assert '<a href="../gx_docs/index.html">Data Docs</a>' in footer


def test_a_week_without_alerts_says_so(tmp_path: Path):
    copy = build_changed_warehouse(
        tmp_path / "warehouse.duckdb",
        "delete from marts.fct_relationship_alerts where week_start_date = ?",
        [WEEKS[-1]],
    )
    empty = write_report(copy, tmp_path / "empty").read_text(encoding="utf-8")
    assert "No relationship-health alert this week." in empty
    assert "0 relationship-health alerts" in empty


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
    assert read_alerts(path) == []
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
    warehouse = build_changed_warehouse(
        tmp_path / "warehouse.duckdb",
        "update marts.dim_accounts set platform = 'mastodon', instance = 'mastodon.social', "
        "account_state = ?, moved_to_handle = ?, state_observed_since = timestamp '2026-11-16 00:00:00' "
        "where account_id = 'demo:@quiet_bank'",
        [state, moved_to],
    )
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
    warehouse = build_changed_warehouse(
        tmp_path / "warehouse.duckdb",
        "update marts.dim_accounts set is_unreachable = true, last_observed_at = timestamp '2026-11-16 00:00:00' "
        "where account_id = 'demo:@quiet_bank'",
        [],
    )
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


def test_a_week_read_from_exports_says_what_its_files_left_out_and_why_a_gap_is_not_scored():
    from rapport.publish.report import _describe_coverage, _describe_moves

    def score_row(indicator: str, before: float | None, now: float | None) -> dict[str, Any]:
        change = None if before is None or now is None else now - before
        return {
            "indicator": indicator,
            "component": "score",
            "unit": "points",
            "previous_value": before,
            "value": now,
            "change": change,
        }

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
    moved = _describe_moves(
        [score_row("overall", 50.0, None), score_row("openness", 40.0, None)], gap["score_notes"]
    )
    assert "Openness could not be scored this week (no file covers this week); it was 40.0." in moved
