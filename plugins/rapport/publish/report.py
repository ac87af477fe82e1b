"""The weekly relationship report: one self-contained HTML page per ISO week.

``write_report`` reads the marts of a warehouse (read-only, a few queries) and
writes ``rapport-<iso year>-W<iso week>.html`` for the latest complete week (the
latest ``week_start_date`` of ``marts.fct_organization_weekly_scores``) plus a
copy, ``latest.html``. The page needs no network to be viewed: CSS and SVG charts
are inline, there is no script, no font and no image to fetch. The template is
the package-data file ``templates/report.html.j2``.

This module only presents: every score, rank, change and alert is a row of a
mart (docs/methodology.md). Organization scores, peer ranks and the changes of
the overall score come from ``fct_organization_weekly_scores``; "what moved"
is written from ``fct_score_changes``; the alerts are ``fct_relationship_alerts``'
of the week; the evidence is ``fct_open_questions``' unanswered questions and
slowest answers of the week.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from rapport.errors import RapportError

INDICATORS: Final = ("trust", "openness", "involvement", "investment", "commitment")
SCORES: Final = (*INDICATORS, "overall")

# A score that moved less than this since last week is not explained in words (presentation only).
MOVE_THRESHOLD_POINTS: Final = 1.0
# The radar sets the latest week against this many weeks before (the span of overall_change_4w).
COMPARED_WEEKS_BACK: Final = 4

SCORE_DROP: Final = "score_drop"
SILENT_ACCOUNT: Final = "silent_account"
LOW_RESPONSE_RATE: Final = "low_response_rate"
_ALERT_LABELS: Final = {
    SCORE_DROP: "Score drop",
    SILENT_ACCOUNT: "Silent account",
    LOW_RESPONSE_RATE: "Low response rate",
}
_SAFE_LINK_SCHEMES: Final = ("", "http", "https", "file", "mailto")
_POST_LINK_SCHEMES: Final = ("http", "https")

# The components of fct_score_changes, in words (the column names of fct_relationship_scores).
_COMPONENT_LABELS: Final = {
    "shrunk_answered_question_share": "answered questions (as scored)",
    "answered_question_share": "answered questions",
    "shrunk_response_time_score": "response time score (as scored)",
    "response_time_score": "response time score",
    "median_response_hours": "median response time",
    "trust_presence_share": "days present",
    "shrunk_dialogue_share": "replies to the public and on others' posts (as scored)",
    "dialogue_share": "replies to the public and on others' posts",
    "shrunk_own_news_share": "posts about its own news and plans (as scored)",
    "own_news_share": "posts about its own news and plans",
    "shrunk_directed_at_others_share": "actions directed at others (as scored)",
    "directed_at_others_share": "actions directed at others",
    "shrunk_non_promotional_share": "non-promotional posts (as scored)",
    "non_promotional_share": "non-promotional posts",
    "effort_ratio": "actions against the expected weekly effort",
    "shrunk_accessibility_share": "accessible posts (every image described, or no image; as scored)",
    "accessibility_share": "accessible posts (every image described, or no image)",
    "sustained_quality_score": "the window's average quality",
    "active_week_share": "active weeks in the window",
    "burst_penalty": "the burst penalty",
}

Row = dict[str, Any]


@dataclass(frozen=True)
class Alert:
    """A relationship-health alert of the latest week, a row of ``marts.fct_relationship_alerts``.

    ``kind`` is its ``alert_rule`` (``SCORE_DROP``, ``SILENT_ACCOUNT``, ``LOW_RESPONSE_RATE``; any
    other text is shown as it is); ``message`` says what happened, in words.
    """

    organization_id: str
    account_id: str | None
    kind: str
    message: str
    alert_id: str = ""


class ReportError(RapportError, RuntimeError):
    """The warehouse has nothing to report on."""


# --------------------------------------------------------------------------- reading

_LATEST_WEEK_SQL: Final = "select max(week_start_date) from marts.fct_organization_weekly_scores"

_ORGANIZATIONS_SQL: Final = """
    select organization_id, organization_name, peer_group, size_band, language_code
    from marts.dim_organizations
"""

_ORGANIZATION_WEEKS_SQL: Final = """
    select
        organization_id, organization_name, peer_group, size_band, week_start_date,
        trust_score, openness_score, involvement_score, investment_score, commitment_score, overall_score,
        score_notes, weighting, accounts_registered, accounts_scored, platforms_scored, coverage_share,
        overall_change_1w, overall_change_4w, peer_group_size, peer_rank, peer_percentile
    from marts.fct_organization_weekly_scores
    where week_start_date <= ?
    order by organization_id, week_start_date
"""

_ACCOUNTS_SQL: Final = """
    select
        account_id, organization_id, platform, handle, display_name,
        instance, account_state, moved_to_handle, state_observed_since, is_unreachable, last_observed_at
    from marts.dim_accounts
"""

_ACCOUNT_WEEKS_SQL: Final = """
    select
        scores.account_id, scores.organization_id, scores.week_start_date, scores.overall_score,
        scores.trust_score, scores.score_notes, scores.coverage_notes, scores.weeks_of_history,
        scores.actions, scores.questions_received, scores.questions_pending,
        scores.shrunk_answered_question_share,
        (select max(earlier.week_start_date) from marts.fct_relationship_scores as earlier
         where earlier.account_id = scores.account_id) as last_scored_week
    from marts.fct_relationship_scores as scores
    where scores.week_start_date = (
        select max(latest.week_start_date) from marts.fct_relationship_scores as latest
        where latest.account_id = scores.account_id and latest.week_start_date <= ?
    )
"""

_CHANGES_SQL: Final = """
    select
        subject_type, subject_id, organization_id, account_id, indicator, component, unit,
        value, previous_value, change
    from marts.fct_score_changes
    where week_start_date = ?
    order by subject_id, indicator, component
"""

_ALERTS_SQL: Final = """
    select alert_id, alert_rule, organization_id, account_id, indicator, message
    from marts.fct_relationship_alerts
    where week_start_date = ?
    order by organization_id, account_id, alert_rule, indicator, alert_id
"""

_EVIDENCE_SQL: Final = """
    select
        organization_id, account_id, interaction_id, asked_at, author_handle, question_text, status,
        answered_at, response_hours, question_url, answer_url, is_slowest_answer
    from marts.fct_open_questions
    where week_start_date = ? and (status = 'unanswered' or is_slowest_answer)
    order by organization_id, account_id, response_hours desc nulls last, asked_at, interaction_id
"""


def _read(warehouse: Path, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
    """Run each query (with its parameters) on the warehouse opened read-only; rows as dicts."""
    from rapport.load import connect

    if not warehouse.is_file():
        raise FileNotFoundError(f"{warehouse}: no warehouse there (run the pipeline first)")
    connection = connect(warehouse, read_only=True)
    try:
        results = []
        for sql, parameters in queries:
            cursor = connection.execute(sql, list(parameters))
            names = [description[0] for description in cursor.description]
            results.append([dict(zip(names, values, strict=True)) for values in cursor.fetchall()])
        return results
    finally:
        connection.close()


def _latest_week(warehouse: Path) -> date:
    [[row]] = _read(warehouse, [(_LATEST_WEEK_SQL, [])])
    latest = next(iter(row.values()))
    if latest is None:
        raise ReportError(f"{warehouse}: marts.fct_organization_weekly_scores is empty, nothing to report")
    return latest  # type: ignore[no-any-return]


def read_alerts(warehouse: Path) -> list[Alert]:
    """The relationship-health alerts of the latest complete week, as ``marts.fct_relationship_alerts``
    holds them (the rules and their thresholds are dbt's), ordered by organization, account and rule.

    Returns an empty list when the warehouse has no week yet. Raises ``FileNotFoundError`` when the
    warehouse file does not exist.
    """
    try:
        latest_week = _latest_week(warehouse)
    except ReportError:
        return []
    [rows] = _read(warehouse, [(_ALERTS_SQL, [latest_week])])
    return [_alert(row) for row in rows]


def _alert(row: Row) -> Alert:
    return Alert(
        str(row["organization_id"]),
        row["account_id"],
        str(row["alert_rule"]),
        str(row["message"]),
        str(row["alert_id"]),
    )


def _number(row: Mapping[str, Any] | None, column: str) -> float | None:
    value = (row or {}).get(column)
    return None if value is None else float(value)


def _count(row: Mapping[str, Any] | None, column: str) -> int:
    value = (row or {}).get(column)
    return 0 if value is None else int(value)


def _week_label(week_start: date) -> str:
    iso_year, iso_week, _ = week_start.isocalendar()
    return f"{iso_year}-W{iso_week:02d}"


_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _short_date(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]}"


def _long_date(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _score_or_na(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _signed(change: float | None) -> str:
    if change is None:
        return "–"
    if abs(change) < 0.05:
        return "= 0.0"
    return f"{'▲ +' if change > 0 else '▼ −'}{abs(change):.1f}"


def _direction(change: float | None) -> str:
    return "flat" if change is None or abs(change) < 0.05 else "up" if change > 0 else "down"


# --------------------------------------------------------------------------- what moved


def _in_unit(value: float | None, unit: str) -> str:
    if value is None:
        return "none"
    if unit == "share":
        return f"{value:.0%}"
    if unit == "hours":
        return f"{value:.1f} h" if value < 10 else f"{value:.0f} h"
    return f"{value:.1f}" if unit == "points" else f"{value:.2f}"


def _weight(row: Row) -> float:
    """How much a component's row moved, on a 0-1 scale, to pick the ones worth naming; one that
    appeared or disappeared counts as much as its defined level."""
    scale = {"points": 100.0, "share": 1.0}.get(str(row["unit"]))
    if scale is None:  # hours and ratios are no levels: named only when nothing else moved
        return 0.0
    change = _number(row, "change")
    if change is not None:
        return abs(change) / scale
    defined = _number(row, "value") if row.get("value") is not None else _number(row, "previous_value")
    return 0.0 if defined is None else max(abs(defined) / scale, 0.01)


def _component_sentence(row: Row) -> str:
    label = _COMPONENT_LABELS.get(str(row["component"]), str(row["component"]).replace("_", " "))
    unit = str(row["unit"])
    before, now = _number(row, "previous_value"), _number(row, "value")
    if before is None or now is None or before == now:
        return f"{label} went from {_in_unit(before, unit)} to {_in_unit(now, unit)}"
    return (
        f"{label} {'rose' if now > before else 'fell'} from {_in_unit(before, unit)} to {_in_unit(now, unit)}"
    )


def _note_reasons(notes: str | None) -> dict[str, str]:
    """score_notes ('trust: reason; openness: reason') as {score: reason}."""
    reasons: dict[str, str] = {}
    for part in (notes or "").split("; "):
        name, separator, reason = part.partition(": ")
        if separator:
            reasons[name.strip()] = reason.strip()
    return reasons


def _describe_moves(changes: Sequence[Row], score_notes: str | None) -> list[str]:
    """What moved between an account's previous week and its latest, in sentences, from its rows of
    ``fct_score_changes``.

    Overall first, then each indicator that moved at least ``MOVE_THRESHOLD_POINTS`` (largest move
    first) with the one or two components that moved the most, then the indicators that could not be
    scored in one of the two weeks.
    """
    scores = {row["indicator"]: row for row in changes if row["component"] == "score"}
    if all(row.get("previous_value") is None for row in scores.values()):
        return ["First scored week: nothing to compare with yet."]
    sentences: list[str] = []
    overall = scores.get("overall")
    before, now, change = (
        _number(overall, "previous_value"),
        _number(overall, "value"),
        _number(overall, "change"),
    )
    if before is not None and now is not None and change is not None:
        if abs(change) < MOVE_THRESHOLD_POINTS:
            sentences.append(f"Overall held steady at {now:.1f} (was {before:.1f}).")
        else:
            verb = "rose" if change > 0 else "fell"
            sentences.append(f"Overall {verb} {abs(change):.1f} points, from {before:.1f} to {now:.1f}.")
    moves: list[tuple[float, str]] = []
    appearances: list[str] = []
    reasons = _note_reasons(score_notes)
    for indicator in INDICATORS:
        row = scores.get(indicator)
        old, new, change = _number(row, "previous_value"), _number(row, "value"), _number(row, "change")
        if old is not None and new is None:
            # A week the account's export files do not cover is not scored at all: its reason.
            reason = reasons.get(indicator) or reasons.get("exports") or "not measurable"
            appearances.append(f"{indicator} could not be scored this week ({reason}); it was {old:.1f}.")
            continue
        if old is None and new is not None:
            appearances.append(f"{indicator} is scored again, at {new:.1f} (not measurable last week).")
            continue
        if old is None or new is None or change is None or abs(change) < MOVE_THRESHOLD_POINTS:
            continue
        components = sorted(
            (
                component
                for component in changes
                if component["indicator"] == indicator and component["component"] != "score"
            ),
            key=_weight,
            reverse=True,
        )
        explained = [
            _component_sentence(component) for component in components[:2] if _weight(component) >= 0.01
        ]
        verb = "rose" if change > 0 else "fell"
        sentence = f"{indicator} {verb} {abs(change):.1f} points, from {old:.1f} to {new:.1f}"
        sentence += f": {', '.join(explained)}." if explained else "."
        moves.append((abs(change), sentence[0].upper() + sentence[1:]))
    moves.sort(key=lambda pair: pair[0], reverse=True)
    sentences.extend(sentence for _, sentence in moves)
    sentences.extend(sentence[0].upper() + sentence[1:] for sentence in appearances)
    if not moves and not appearances:
        sentences.append(f"No indicator moved by {MOVE_THRESHOLD_POINTS:.0f} point or more.")
    return sentences


# --------------------------------------------------------------------------- coverage


def _describe_coverage(now: Row) -> list[str]:
    """Why the latest week's scores of an account rest on little or no data: its score and coverage
    notes (the marts' words), a silent week, a week without questions, questions still pending."""
    warnings: list[str] = []
    for name, reason in _note_reasons(now.get("score_notes")).items():
        if name == "exports":  # a week the account's export files do not cover whole
            warnings.append(f"Not scored: {reason} (the account is read from its analytics exports).")
            continue
        warnings.append(f"{name} not scored: {reason}.")
    for name, reason in _note_reasons(now.get("coverage_notes")).items():
        warnings.append(f"{name} leaves out its {reason}.")
    if _count(now, "actions") == 0:
        warnings.append("Silent week: the account published nothing (investment scores 0).")
    elif _count(now, "questions_received") == 0 and now.get("trust_score") is not None:
        # Methodology 0.2: without a question, trust draws on the account's earlier answer rate.
        warnings.append(
            "No public question this week: trust takes the account's usual answer rate and response "
            "time, with this week's presence."
            if now.get("shrunk_answered_question_share") is not None
            else "No public question this week: trust rests on presence alone."
        )
    pending = _count(now, "questions_pending")
    if pending:
        warnings.append(
            f"{pending} question{'s' if pending > 1 else ''} still within the answer window, "
            "left out of the answer rate until answered or the window closes."
        )
    return warnings


# --------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class _Point:
    x: str
    y: str
    tooltip: str


@dataclass(frozen=True)
class _Label:
    x: str
    y: str
    text: str
    anchor: str = "middle"
    css_class: str = "tick"


@dataclass(frozen=True)
class _Chart:
    """An SVG chart: its geometry as text, ready for the template."""

    chart_id: str
    title: str
    description: str
    width: int
    height: int
    lines: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    """(css class, x1, y1, x2, y2)."""
    polygons: list[tuple[str, str]] = field(default_factory=list)
    """(css class, points)."""
    paths: list[str] = field(default_factory=list)
    rects: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    """(css class, x, y, width, height)."""
    labels: list[_Label] = field(default_factory=list)
    points: list[tuple[str, _Point]] = field(default_factory=list)
    """(css class, point with its tooltip)."""
    name: str = ""
    caption: str = ""


def _coordinate(value: float) -> str:
    return f"{value:.1f}"


# Charts are drawn in a viewBox no wider than the narrowest column they get (a 360 px screen), so an
# SVG is never scaled down and its 12 px text stays at least 12 px; wider screens scale it up.
_RADAR_SIZE: Final = (300, 262)
_TREND_SIZE: Final = (280, 130)


def _radar_chart(
    chart_id: str,
    name: str,
    latest: Mapping[str, float | None],
    earlier: Mapping[str, float | None],
    latest_label: str,
    earlier_label: str,
) -> _Chart:
    """A radar of the five indicators: the latest week against ``COMPARED_WEEKS_BACK`` weeks before.

    An axis without a value is left out of its polygon (never drawn as 0)."""
    import math

    width, height = _RADAR_SIZE
    radius, center_x, center_y = 56.0, width / 2, 100.0

    def point(index: int, value: float) -> tuple[float, float]:
        angle = math.radians(-90 + 360 * index / len(INDICATORS))
        distance = radius * value / 100
        return center_x + distance * math.cos(angle), center_y + distance * math.sin(angle)

    def corners(values: Mapping[str, float | None], label: str) -> tuple[str, list[_Point]]:
        dots = [
            _Point(x, y, f"{indicator}, {label}: {value:.1f}")
            for index, indicator in enumerate(INDICATORS)
            if (value := values.get(indicator)) is not None
            for x, y in [map(_coordinate, point(index, max(0.0, min(100.0, value))))]
        ]
        return " ".join(f"{dot.x},{dot.y}" for dot in dots), dots

    chart = _Chart(
        chart_id=chart_id,
        title=f"{name}: the five indicators, {latest_label} against {earlier_label}",
        description="Scores 0 to 100. "
        + "; ".join(
            f"{indicator} {_score_or_na(latest.get(indicator))} "
            f"({earlier_label} {_score_or_na(earlier.get(indicator))})"
            for indicator in INDICATORS
        )
        + ".",
        width=width,
        height=height,
    )
    for level in (25, 50, 75, 100):
        ring = " ".join(
            f"{_coordinate(x)},{_coordinate(y)}"
            for x, y in (point(index, level) for index in range(len(INDICATORS)))
        )
        chart.polygons.append(("ring", ring))
    for index, indicator in enumerate(INDICATORS):
        end_x, end_y = point(index, 100)
        chart.lines.append(
            (
                "grid-line",
                _coordinate(center_x),
                _coordinate(center_y),
                _coordinate(end_x),
                _coordinate(end_y),
            )
        )
        label_x, label_y = point(index, 110)
        cosine = math.cos(math.radians(-90 + 360 * index / len(INDICATORS)))
        anchor = "middle" if abs(cosine) < 0.3 else "start" if cosine > 0 else "end"
        name_y = (
            label_y - 18
            if label_y < center_y - radius
            else label_y + 8
            if label_y > center_y
            else label_y - 2
        )
        chart.labels.append(_Label(_coordinate(label_x), _coordinate(name_y), indicator, anchor, "axis-name"))
        chart.labels.append(
            _Label(
                _coordinate(label_x),
                _coordinate(name_y + 14),
                _score_or_na(latest.get(indicator)),
                anchor,
                "axis-value",
            )
        )
    for css_class, values, label in (("earlier", earlier, earlier_label), ("latest", latest, latest_label)):
        points, dots = corners(values, label)
        if points:
            chart.polygons.append((css_class, points))
        chart.points.extend((css_class, dot) for dot in dots)
    # The legend on two lines: side by side it is wider than a phone's column.
    chart.rects.append(("latest", "60", _coordinate(height - 33), "16", "10"))
    chart.labels.append(_Label("82", _coordinate(height - 23), latest_label, "start", "legend"))
    chart.lines.append(("earlier", "60", _coordinate(height - 10), "76", _coordinate(height - 10)))
    chart.labels.append(_Label("82", _coordinate(height - 5), earlier_label, "start", "legend"))
    return chart


def _trend_chart(
    chart_id: str, organization: str, score: str, weeks: Sequence[date], values: Sequence[float | None]
) -> _Chart:
    """A line of one score over the weeks, broken (and shaded) where it is NULL.

    Weeks before the first scored one are left blank, not shaded: nothing was measured there."""
    width, height = _TREND_SIZE
    left, right, top, bottom = 30.0, 272.0, 8.0, 104.0
    step = (right - left) / max(len(weeks) - 1, 1)
    tracked_from = next((index for index, value in enumerate(values) if value is not None), len(values))

    def x_of(index: int) -> float:
        return left + step * index if len(weeks) > 1 else (left + right) / 2

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * max(0.0, min(100.0, value)) / 100

    chart = _Chart(
        chart_id=chart_id,
        title=f"{organization}: {score} score per week",
        description="",
        width=width,
        height=height,
        name=score,
    )
    for level in (0, 50, 100):
        y = _coordinate(y_of(level))
        chart.lines.append(("grid-line", _coordinate(left), y, _coordinate(right), y))
        chart.labels.append(_Label(_coordinate(left - 4), _coordinate(y_of(level) + 4), str(level), "end"))
    commands: list[str] = []
    pen_down = False
    for index, (week, value) in enumerate(zip(weeks, values, strict=True)):
        if value is None:
            pen_down = False
            if index >= tracked_from:
                start, end = max(left, x_of(index) - step / 2), min(right, x_of(index) + step / 2)
                chart.rects.append(
                    (
                        "gap",
                        _coordinate(start),
                        _coordinate(top),
                        _coordinate(max(end - start, 2.0)),
                        _coordinate(bottom - top),
                    )
                )
            continue
        x, y = _coordinate(x_of(index)), _coordinate(y_of(value))
        commands.append(f"{'L' if pen_down else 'M'}{x} {y}")
        is_last = index == len(values) - 1
        chart.points.append(
            (
                "last-dot" if is_last else "series-dot",
                _Point(x, y, f"{_week_label(week)}: {score} {value:.1f}"),
            )
        )
        pen_down = True
    if commands:
        chart.paths.append(" ".join(commands))
    if weeks:
        chart.labels.append(
            _Label(_coordinate(left), _coordinate(height - 4), _short_date(weeks[0]), "start")
        )
    if len(weeks) > 1:
        chart.labels.append(
            _Label(_coordinate(right), _coordinate(height - 4), _short_date(weeks[-1]), "end")
        )
    tracked = list(zip(weeks, values, strict=True))[tracked_from:]
    defined = [value for _, value in tracked if value is not None]
    if defined:
        summary = (
            f"From {tracked[0][0].isoformat()} to {weeks[-1].isoformat()}: "
            f"latest {_score_or_na(values[-1])}, lowest {min(defined):.1f}, highest {max(defined):.1f}"
        )
        if len(defined) < len(tracked):
            missing = len(tracked) - len(defined)
            summary += f"; not measurable in {missing} of {len(tracked)} weeks (gaps in the line)"
    else:
        summary = "Never scored"
    return replace(
        chart, description=summary + ".", caption=f"latest {_score_or_na(values[-1]) if values else 'n/a'}"
    )


# --------------------------------------------------------------------------- view model


@dataclass(frozen=True)
class _AlertView:
    alert_id: str
    kind_label: str
    kind_class: str
    organization_name: str
    anchor: str | None
    account_label: str
    message: str


@dataclass(frozen=True)
class _ScoreView:
    name: str
    value: float | None
    change_text: str
    change_class: str
    earlier: float | None


@dataclass(frozen=True)
class _AccountView:
    handle: str
    display_name: str | None
    platform: str
    weeks_text: str
    overall: float | None
    state_text: str | None = None
    """The account's state when it is not active (``suspended on mastodon.social since ...``)."""


@dataclass(frozen=True)
class _QuestionView:
    account_label: str
    asked_at: str
    author_handle: str
    question_text: str
    question_url: str | None
    answer_url: str | None
    response_text: str


@dataclass(frozen=True)
class _SectionView:
    position: int
    anchor: str
    organization_id: str
    name: str
    peer_group_text: str
    size_band: str | None
    language_code: str | None
    overall: float | None
    change_1w_text: str
    change_1w_class: str
    change_4w_text: str
    change_4w_class: str
    rank_text: str
    coverage_text: str
    weighting: str | None
    scores: list[_ScoreView]
    radar: _Chart
    trends: list[_Chart]
    moves: list[str]
    coverage: list[str]
    alerts: list[_AlertView]
    accounts: list[_AccountView]
    unanswered: list[_QuestionView]
    slowest: list[_QuestionView]


@dataclass(frozen=True)
class _Mover:
    name: str
    anchor: str
    change_text: str
    before: str
    now: str


@dataclass(frozen=True)
class _LinkView:
    name: str
    href: str


@dataclass(frozen=True)
class _ReportView:
    week_label: str
    earlier_label: str
    week_range: str
    history_text: str
    generated_at: str
    generated_at_iso: str
    alerts: list[_AlertView]
    riser: _Mover | None
    faller: _Mover | None
    sections: list[_SectionView]
    links: list[_LinkView]


def _ordinal(position: int) -> str:
    suffix = "th" if 10 <= position % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(position % 10, "th")
    return f"{position}{suffix}"


def _rank_text(row: Row | None) -> str:
    """'2nd of 3 in culture (67th percentile)', from the mart's peer_rank and peer_group_size."""
    if row is None or row.get("overall_score") is None:
        return "not ranked (not measurable)"
    if not row.get("peer_group"):
        return "not ranked (no peer group)"
    if row.get("peer_rank") is None:
        return f"not ranked ({_count(row, 'peer_group_size')} scored in {row['peer_group']}, too few to rank)"
    text = f"{_ordinal(int(row['peer_rank']))} of {_count(row, 'peer_group_size')} in {row['peer_group']}"
    percentile = _number(row, "peer_percentile")
    return text if percentile is None else f"{text} ({_ordinal(round(percentile))} percentile)"


def _anchor(position: int, organization_id: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", organization_id.lower()).strip("-")
    return f"org-{position}-{slug}" if slug else f"org-{position}"


def _check_link(name: str, href: str) -> _LinkView:
    scheme = urlsplit(href).scheme.lower()
    if scheme not in _SAFE_LINK_SCHEMES:
        raise ValueError(f"link {name!r}: scheme {scheme!r} is not allowed ({href!r})")
    return _LinkView(name, href)


def _post_link(url: str | None) -> str | None:
    """A link to a post on its platform, only when it is http or https (never javascript:, data:...)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in _POST_LINK_SCHEMES and parts.netloc else None


def _question_view(row: Row, account_label: str) -> _QuestionView:
    asked_at = row.get("asked_at")
    hours = _number(row, "response_hours")
    return _QuestionView(
        account_label=account_label,
        asked_at=asked_at.strftime("%a %d %b %H:%M")
        if isinstance(asked_at, datetime)
        else str(asked_at or ""),
        author_handle=str(row.get("author_handle") or "someone"),
        question_text=str(row.get("question_text") or ""),
        question_url=_post_link(row.get("question_url")),
        answer_url=_post_link(row.get("answer_url")),
        response_text="" if hours is None else f"answered in {_in_unit(hours, 'hours')}",
    )


def _state_text(account: Mapping[str, Any]) -> str | None:
    """An account's state in words when its latest snapshot says it is not active or the latest run
    did not reach it, else ``None``."""
    from rapport.summary import describe_state

    state = account.get("account_state")
    unreachable = bool(account.get("is_unreachable"))
    if (state is None or state == "active") and not unreachable:
        return None
    return describe_state(
        str(account.get("platform")),
        account.get("instance"),
        state,
        account.get("moved_to_handle"),
        account.get("state_observed_since"),
        is_unreachable=unreachable,
        last_observed_at=account.get("last_observed_at"),
    )


@dataclass
class _Marts:
    """The rows the report shows, read from the marts."""

    latest_week: date
    organizations: list[Row]
    organization_weeks: list[Row]
    accounts: list[Row]
    account_weeks: list[Row]
    changes: list[Row]
    alerts: list[Row]
    evidence: list[Row]


def _read_marts(warehouse: Path) -> _Marts:
    latest_week = _latest_week(warehouse)
    tables = _read(
        warehouse,
        [
            (_ORGANIZATIONS_SQL, []),
            (_ORGANIZATION_WEEKS_SQL, [latest_week]),
            (_ACCOUNTS_SQL, []),
            (_ACCOUNT_WEEKS_SQL, [latest_week]),
            (_CHANGES_SQL, [latest_week]),
            (_ALERTS_SQL, [latest_week]),
            (_EVIDENCE_SQL, [latest_week]),
        ],
    )
    return _Marts(latest_week, *tables)


def _account_lines(
    account_id: str,
    label: str,
    prefix: str,
    marts: _Marts,
    current: Row | None,
    state: str | None,
) -> tuple[list[str], list[str]]:
    """An account's "what moved" sentences and coverage warnings (prefixed with its handle when the
    organization has several accounts)."""
    week_label = _week_label(marts.latest_week)
    if state is not None:
        # Suspended, moved...: a state, never scores read as a collapse or a silence.
        return [f"{label}: {state}; its scores are not compared."], []
    if current is None or current["week_start_date"] != marts.latest_week:
        last = current["last_scored_week"] if current else None
        return [f"{label}: not scored this week."], [
            f"{label}: no score for week {week_label}"
            + (f" (last scored week: {_week_label(last)})." if last else " (not scored yet).")
        ]
    changes = [
        row for row in marts.changes if row["subject_type"] == "account" and row["subject_id"] == account_id
    ]
    moves = [prefix + line for line in _describe_moves(changes, current.get("score_notes"))]
    return moves, [prefix + line for line in _describe_coverage(current)]


def _build_view(marts: _Marts, links: Mapping[str, str] | None, generated_at: datetime) -> _ReportView:
    """Everything the template shows, from the marts' rows: no score is computed here."""
    latest_week = marts.latest_week
    week_label = _week_label(latest_week)
    earlier_week = latest_week - timedelta(weeks=COMPARED_WEEKS_BACK)
    earlier_label = f"{COMPARED_WEEKS_BACK} weeks before ({_week_label(earlier_week)})"
    weeks = sorted({row["week_start_date"] for row in marts.organization_weeks})
    rows_by_organization: dict[str, dict[date, Row]] = {}
    for week_row in marts.organization_weeks:
        rows_by_organization.setdefault(week_row["organization_id"], {})[week_row["week_start_date"]] = (
            week_row
        )
    dimension = {row["organization_id"]: row for row in marts.organizations}
    organization_ids = sorted(set(dimension) | set(rows_by_organization))
    latest = {
        organization_id: rows_by_organization.get(organization_id, {}).get(latest_week)
        for organization_id in organization_ids
    }

    def name_of(organization_id: str) -> str:
        known = latest[organization_id] or dimension.get(organization_id) or {}
        return str(known.get("organization_name") or organization_id)

    ordered = sorted(
        organization_ids,
        key=lambda organization_id: (
            _number(latest[organization_id], "overall_score") is None,
            -(_number(latest[organization_id], "overall_score") or 0.0),
            name_of(organization_id),
        ),
    )
    anchors = {
        organization_id: _anchor(index, organization_id) for index, organization_id in enumerate(ordered, 1)
    }
    accounts_by_id = {account["account_id"]: account for account in marts.accounts}
    account_weeks = {row["account_id"]: row for row in marts.account_weeks}
    owners = {account_id: account["organization_id"] for account_id, account in accounts_by_id.items()} | {
        account_id: row["organization_id"] for account_id, row in account_weeks.items()
    }
    labels = {
        account_id: str(accounts_by_id.get(account_id, {}).get("handle") or account_id)
        for account_id in owners
    }
    order = {organization_id: index for index, organization_id in enumerate(ordered)}
    alert_rows = sorted(marts.alerts, key=lambda row: order.get(row["organization_id"], len(order)))
    alerts = [
        _AlertView(
            alert_id=str(alert_row["alert_id"]),
            kind_label=_ALERT_LABELS.get(alert_row["alert_rule"], str(alert_row["alert_rule"])),
            kind_class=alert_row["alert_rule"] if alert_row["alert_rule"] in _ALERT_LABELS else "other",
            organization_name=name_of(alert_row["organization_id"])
            if alert_row["organization_id"] in latest
            else str(alert_row["organization_id"]),
            anchor=anchors.get(alert_row["organization_id"]),
            account_label=labels.get(
                alert_row["account_id"], str(alert_row["account_id"] or "the organization")
            ),
            message=str(alert_row["message"]),
        )
        for alert_row in alert_rows
    ]
    alerts_of: dict[str, list[_AlertView]] = {}
    for alert_row, view in zip(alert_rows, alerts, strict=True):
        alerts_of.setdefault(alert_row["organization_id"], []).append(view)

    sections = []
    for position, organization_id in enumerate(ordered, start=1):
        row = latest[organization_id]
        history = rows_by_organization.get(organization_id, {})
        earlier = history.get(earlier_week)
        info = dimension.get(organization_id, {}) | (row or {})
        name = name_of(organization_id)
        changes = {
            change["indicator"]: change
            for change in marts.changes
            if change["subject_type"] == "organization"
            and change["subject_id"] == organization_id
            and change["component"] == "score"
        }
        ids = sorted(account_id for account_id, owner in owners.items() if owner == organization_id)
        moves: list[str] = []
        coverage: list[str] = [] if ids else ["No account registered: nothing to score."]
        if row is not None and row.get("score_notes"):
            coverage.append(f"Organization: {row['score_notes']}.")
        account_views = []
        for account_id in ids:
            account = accounts_by_id.get(account_id, {})
            current = account_weeks.get(account_id)
            state = _state_text(account)
            prefix = f"{labels[account_id]}: " if len(ids) > 1 else ""
            account_moves, account_coverage = _account_lines(
                account_id, labels[account_id], prefix, marts, current, state
            )
            moves += account_moves
            coverage += account_coverage
            if state is not None:
                unseen = (
                    "Its latest counts were not observed"
                    if account.get("account_state") in (None, "active")
                    else "Its counts are not shown by the platform"
                )
                coverage.insert(0, f"{labels[account_id]}: {state}. {unseen}: not a collapse.")
            is_current = current is not None and current["week_start_date"] == latest_week
            account_views.append(
                _AccountView(
                    handle=labels[account_id],
                    display_name=account.get("display_name"),
                    platform=str(account.get("platform") or account_id.partition(":")[0]),
                    weeks_text=str(_count(current, "weeks_of_history")) if is_current else "–",
                    overall=_number(current, "overall_score") if is_current and state is None else None,
                    state_text=state,
                )
            )
        questions = [
            question for question in marts.evidence if question["organization_id"] == organization_id
        ]
        overall_1w, overall_4w = _number(row, "overall_change_1w"), _number(row, "overall_change_4w")
        scored, registered = _count(row, "accounts_scored"), _count(row, "accounts_registered")
        sections.append(
            _SectionView(
                position=position,
                anchor=anchors[organization_id],
                organization_id=organization_id,
                name=name,
                peer_group_text=str(info.get("peer_group") or "none"),
                size_band=info.get("size_band"),
                language_code=info.get("language_code"),
                overall=_number(row, "overall_score"),
                change_1w_text=_signed(overall_1w),
                change_1w_class=_direction(overall_1w),
                change_4w_text=_signed(overall_4w),
                change_4w_class=_direction(overall_4w),
                rank_text=_rank_text(row),
                coverage_text=(
                    f"{scored} of {registered} account{'s' if registered != 1 else ''} scored"
                    + (f" ({_number(row, 'coverage_share') or 0:.0%})" if registered else "")
                    + (f" on {row['platforms_scored']}" if row and row.get("platforms_scored") else "")
                ),
                weighting=(row or {}).get("weighting"),
                scores=[
                    _ScoreView(
                        name=score,
                        value=_number(row, f"{score}_score"),
                        change_text=_signed(
                            overall_1w if score == "overall" else _number(changes.get(score), "change")
                        ),
                        change_class=_direction(
                            overall_1w if score == "overall" else _number(changes.get(score), "change")
                        ),
                        earlier=_number(earlier, f"{score}_score"),
                    )
                    for score in SCORES
                ],
                radar=_radar_chart(
                    f"{anchors[organization_id]}-radar",
                    name,
                    {indicator: _number(row, f"{indicator}_score") for indicator in INDICATORS},
                    {indicator: _number(earlier, f"{indicator}_score") for indicator in INDICATORS},
                    f"Week {week_label}",
                    earlier_label,
                ),
                trends=[
                    _trend_chart(
                        f"{anchors[organization_id]}-trend-{score}",
                        name,
                        score,
                        weeks,
                        [_number(history.get(week), f"{score}_score") for week in weeks],
                    )
                    for score in SCORES
                ],
                moves=moves,
                coverage=coverage,
                alerts=alerts_of.get(organization_id, []),
                accounts=account_views,
                unanswered=[
                    _question_view(
                        question, labels.get(question["account_id"]) or str(question["account_id"])
                    )
                    for question in questions
                    if question["status"] == "unanswered"
                ],
                slowest=[
                    _question_view(
                        question, labels.get(question["account_id"]) or str(question["account_id"])
                    )
                    for question in questions
                    if question["status"] != "unanswered" and question["is_slowest_answer"]
                ],
            )
        )
    movers = [
        (change, section)
        for section in sections
        if (change := _number(latest[section.organization_id], "overall_change_1w")) is not None
    ]

    def mover(change: float, section: _SectionView) -> _Mover:
        return _Mover(
            section.name,
            section.anchor,
            _signed(change),
            _score_or_na(section.overall - change if section.overall is not None else None),
            _score_or_na(section.overall),
        )

    riser = max(movers, key=lambda pair: pair[0], default=None)
    faller = min(movers, key=lambda pair: pair[0], default=None)
    first_week = weeks[0] if weeks else latest_week
    week_end = latest_week + timedelta(days=6)
    return _ReportView(
        week_label=week_label,
        earlier_label=earlier_label,
        week_range=f"Monday {_long_date(latest_week)} to Sunday {_long_date(week_end)}",
        history_text=f"{len(weeks)} weeks from {_long_date(first_week)} to {_long_date(latest_week)}",
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        generated_at_iso=generated_at.isoformat(timespec="seconds"),
        alerts=alerts,
        riser=mover(*riser) if riser and riser[0] > 0 else None,
        faller=mover(*faller) if faller and faller[0] < 0 else None,
        sections=sections,
        links=[_check_link(name, href) for name, href in (links or {}).items()],
    )


# --------------------------------------------------------------------------- writing


def _render(view: _ReportView) -> str:
    """The report's HTML from the package's template, every value escaped by Jinja2's autoescape."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("rapport.publish", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("report.html.j2").render(report=view)


def _write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename it over ``path``."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).chmod(0o644)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_report(warehouse: Path, output_dir: Path, *, links: dict[str, str] | None = None) -> Path:
    """Write the weekly relationship report of the warehouse's latest complete week.

    Reads ``marts.fct_organization_weekly_scores``, ``fct_score_changes``,
    ``fct_relationship_alerts``, ``fct_open_questions``, ``fct_relationship_scores`` (the accounts'
    notes), ``dim_organizations`` and ``dim_accounts`` (one read-only connection, closed before
    rendering) and writes ``output_dir/rapport-<iso year>-W<iso week>.html`` and its copy
    ``output_dir/latest.html``, each atomically. ``links`` (name -> relative path or URL) are listed
    in the footer.

    Returns the weekly file's path. Raises ``FileNotFoundError`` when the warehouse does not exist,
    ``ReportError`` when it holds no organization score, and ``ValueError`` for a link whose scheme is
    not http, https, file or mailto.
    """
    # Metadata only: the footer's "generated at"; every number comes from the marts.
    view = _build_view(_read_marts(warehouse), links, datetime.now(UTC))
    html = _render(view)
    output_dir.mkdir(parents=True, exist_ok=True)
    weekly = output_dir / f"rapport-{view.week_label}.html"
    _write_atomically(weekly, html)
    _write_atomically(output_dir / "latest.html", html)
    return weekly
