"""The weekly relationship report: one self-contained HTML page per ISO week, and its alerts.

``write_report`` reads the marts of a warehouse (read-only, a few queries) and
writes ``rapport-<iso year>-W<iso week>.html`` for the latest complete week (the
latest ``week_start_date`` of ``marts.fct_relationship_scores``) plus a copy,
``latest.html``. The page needs no network to be viewed: CSS and SVG charts are
inline, there is no script, no font and no image to fetch.

One section per organization, ordered by overall score: a radar of the five
indicators (latest week against the 12-week average), a trend chart per score
over the whole history, what moved since last week in words, the rank within the
peer group, data-coverage warnings and the alerts passed in by the caller.

An organization's score for a week is the plain mean of its accounts' scores
that week, NULL ones left out (the marts score accounts, not organizations).
"What moved" and the coverage warnings are per account.

``compute_alerts`` reads the relationship-health problems of the latest week from
``marts.fct_relationship_alerts``: an indicator that dropped sharply, an account
that went silent, a low share of answered questions.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from rapport.errors import RapportError

INDICATORS: Final = ("trust", "openness", "involvement", "investment", "commitment")
SCORES: Final = (*INDICATORS, "overall")

# The defaults of sql/dbt_project.yml's vars of the same name: the report explains
# the scores with them (a tuned project shows the default thresholds in its words).
MIN_QUESTIONS_FOR_RESPONSE_RATE: Final = 2
COMMITMENT_WINDOW_WEEKS: Final = 12
# The radar compares the latest week with the mean of this many weeks (it included).
AVERAGE_WEEKS: Final = 12
# An indicator that moved less than this since last week is not explained.
MOVE_THRESHOLD_POINTS: Final = 1.0
SCORE_DROP: Final = "score_drop"
SILENT_ACCOUNT: Final = "silent_account"
LOW_RESPONSE_RATE: Final = "low_response_rate"
_ALERT_LABELS: Final = {
    SCORE_DROP: "Score drop",
    SILENT_ACCOUNT: "Silent account",
    LOW_RESPONSE_RATE: "Low response rate",
}
_SAFE_LINK_SCHEMES: Final = ("", "http", "https", "file", "mailto")

Row = dict[str, Any]


@dataclass(frozen=True)
class Alert:
    """A relationship-health problem of one account in the latest week.

    ``kind`` is one of ``SCORE_DROP``, ``SILENT_ACCOUNT``, ``LOW_RESPONSE_RATE``
    (any other text is shown as it is); ``message`` says what happened, in words.
    """

    organization_id: str
    account_id: str
    kind: str
    message: str


class ReportError(RapportError, RuntimeError):
    """The warehouse has nothing to report on."""


# --------------------------------------------------------------------------- reading

_ORGANIZATIONS_SQL: Final = """
    select organization_id, organization_name, peer_group, size_band, language_code
    from marts.dim_organizations
"""

_ACCOUNTS_SQL: Final = """
    select
        account_id, organization_id, platform, handle, display_name,
        instance, account_state, moved_to_handle, state_observed_since, is_unreachable, last_observed_at
    from marts.dim_accounts
"""

_SCORE_COLUMNS: Final = (
    "account_id",
    "organization_id",
    "week_start_date",
    *(f"{name}_score" for name in SCORES),
    "score_notes",
    "coverage_notes",
    "weeks_of_history",
    "actions",
    "active_days",
    "questions_received",
    "questions_pending",
    "questions_decided",
    "questions_answered",
    "answered_question_share",
    "median_response_hours",
    "response_time_score",
    "dialogue_replies",
    "original_posts",
    "own_news_posts",
    "own_news_share",
    "actions_directed_at_others",
    "directed_at_others_share",
    "posts_with_text",
    "promotional_posts",
    "non_promotional_share",
    "expected_weekly_actions",
    "effort_ratio",
    "own_posts",
    "accessible_posts",
    "trust_presence_share",
    # The rate components as scored (methodology 0.2: drawn toward the account's habit).
    "shrunk_answered_question_share",
    "shrunk_response_time_score",
    "shrunk_dialogue_share",
    "shrunk_own_news_share",
    "shrunk_directed_at_others_share",
    "shrunk_non_promotional_share",
    "shrunk_accessibility_share",
    "window_weeks",
    "active_weeks_in_window",
    "active_week_share",
    "burst_penalty",
    "sustained_quality_score",
)

_SCORES_SQL: Final = f"""
    select {", ".join(_SCORE_COLUMNS)}
    from marts.fct_relationship_scores
    order by account_id, week_start_date
"""

# The alerts of the latest complete week (the latest week scored), in the mart's order.
_ALERTS_SQL: Final = """
    select organization_id, account_id, alert_rule, message
    from marts.fct_relationship_alerts
    where week_start_date = (select max(week_start_date) from marts.fct_relationship_scores)
    order by
        organization_id, account_id,
        case alert_rule when 'score_drop' then 0 when 'silent_account' then 1 else 2 end,
        case indicator
            when 'trust' then 0 when 'openness' then 1 when 'involvement' then 2
            when 'investment' then 3 else 4
        end
"""


def _read(warehouse: Path, queries: Sequence[str]) -> list[list[Row]]:
    """Run each query on the warehouse opened read-only; rows as dicts."""
    from rapport.load import connect

    if not warehouse.is_file():
        raise FileNotFoundError(f"{warehouse}: no warehouse there (run the pipeline first)")
    connection = connect(warehouse, read_only=True)
    try:
        results = []
        for sql in queries:
            cursor = connection.execute(sql)
            names = [description[0] for description in cursor.description]
            results.append([dict(zip(names, values, strict=True)) for values in cursor.fetchall()])
        return results
    finally:
        connection.close()


def _number(row: Mapping[str, Any], column: str) -> float | None:
    value = row.get(column)
    return None if value is None else float(value)


def _count(row: Mapping[str, Any], column: str) -> int:
    value = row.get(column)
    return 0 if value is None else int(value)


def _week_label(week_start: date) -> str:
    iso_year, iso_week, _ = week_start.isocalendar()
    return f"{iso_year}-W{iso_week:02d}"


_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _short_date(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]}"


def _long_date(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


# --------------------------------------------------------------------------- alerts


def compute_alerts(warehouse: Path) -> list[Alert]:
    """The relationship-health alerts of the latest complete week, per account, as the mart
    ``marts.fct_relationship_alerts`` holds them (its rules and thresholds are dbt vars:
    docs/methodology.md, "Alerts").

    Returns the alerts ordered by organization, account and rule (empty when the
    warehouse has no scores). Raises ``FileNotFoundError`` when the warehouse file does not exist.
    """
    (rows,) = _read(warehouse, [_ALERTS_SQL])
    return [
        Alert(row["organization_id"], row["account_id"], row["alert_rule"], row["message"]) for row in rows
    ]


# --------------------------------------------------------------------------- what moved


def _fraction(row: Row, numerator: str, denominator: str, empty: str) -> str:
    total = _count(row, denominator)
    return f"{_count(row, numerator)}/{total}" if total else empty


def _of(row: Row, numerator: int, denominator: str, unit: str, empty: str) -> str:
    total = _count(row, denominator)
    return f"{numerator} of {total} {unit}".rstrip() if total else empty


def _went(subject: str, before: str, now: str) -> str:
    return f"{subject} went from {before} to {now}"


def _moved(subject: str, before: float | None, now: float | None, text: Callable[[float], str]) -> str:
    if before is None or now is None:
        return _went(
            subject, "none" if before is None else text(before), "none" if now is None else text(now)
        )
    verb = "rose" if now > before else "fell" if now < before else "stayed"
    if verb == "stayed":
        return f"{subject} stayed at {text(now)}"
    return f"{subject} {verb} from {text(before)} to {text(now)}"


def _hours(value: float) -> str:
    return f"{value:.1f} h" if value < 10 else f"{value:.0f} h"


def _non_promotional(row: Row) -> int:
    return _count(row, "posts_with_text") - _count(row, "promotional_posts")


@dataclass(frozen=True)
class _Component:
    """One component of an indicator: its 0-1 level as the score used it (a rate drawn toward the
    account's habit, methodology 0.2) and how to say, in the week's own counts, how it changed."""

    indicator: str
    level: Callable[[Row], float | None]
    describe: Callable[[Row, Row], str]


def _share(column: str) -> Callable[[Row], float | None]:
    return lambda row: _number(row, column)


def _percent_level(column: str) -> Callable[[Row], float | None]:
    def level(row: Row) -> float | None:
        value = _number(row, column)
        return None if value is None else value / 100

    return level


def _effort_level(row: Row) -> float | None:
    value = _number(row, "effort_ratio")
    return None if value is None else min(value, 1.0)


def _steadiness_level(row: Row) -> float | None:
    value = _number(row, "burst_penalty")
    return None if value is None else 1 - value


_COMPONENTS: Final = (
    _Component(
        "trust",
        _share("shrunk_answered_question_share"),
        lambda before, now: _went(
            "answered questions",
            _fraction(before, "questions_answered", "questions_decided", "none decided"),
            _fraction(now, "questions_answered", "questions_decided", "none decided"),
        ),
    ),
    _Component(
        "trust",
        _percent_level("shrunk_response_time_score"),
        lambda before, now: _moved(
            "median response time",
            _number(before, "median_response_hours"),
            _number(now, "median_response_hours"),
            _hours,
        ),
    ),
    _Component(
        "trust",
        _share("trust_presence_share"),
        lambda before, now: _moved(
            "active days", _count(before, "active_days"), _count(now, "active_days"), lambda v: f"{v:.0f}"
        ),
    ),
    _Component(
        "openness",
        _share("shrunk_dialogue_share"),
        lambda before, now: _went(
            "replies to the public and on others' posts",
            _of(before, _count(before, "dialogue_replies"), "actions", "actions", "none (no action)"),
            _of(now, _count(now, "dialogue_replies"), "actions", "actions", "none (no action)"),
        ),
    ),
    _Component(
        "openness",
        _share("shrunk_own_news_share"),
        lambda before, now: _went(
            "posts about its own news and plans",
            _of(before, _count(before, "own_news_posts"), "original_posts", "original posts", "none"),
            _of(now, _count(now, "own_news_posts"), "original_posts", "original posts", "none"),
        ),
    ),
    _Component(
        "involvement",
        _share("shrunk_directed_at_others_share"),
        lambda before, now: _went(
            "actions directed at others",
            _of(before, _count(before, "actions_directed_at_others"), "actions", "", "none (no action)"),
            _of(now, _count(now, "actions_directed_at_others"), "actions", "", "none (no action)"),
        ),
    ),
    _Component(
        "involvement",
        _share("shrunk_non_promotional_share"),
        lambda before, now: _went(
            "non-promotional posts",
            _of(before, _non_promotional(before), "posts_with_text", "posts with text", "none"),
            _of(now, _non_promotional(now), "posts_with_text", "posts with text", "none"),
        ),
    ),
    _Component(
        "investment",
        _effort_level,
        lambda before, now: (
            _moved("actions", _count(before, "actions"), _count(now, "actions"), lambda v: f"{v:.0f}")
            + (
                f" ({_count(now, 'expected_weekly_actions')} expected a week)"
                if now.get("expected_weekly_actions") is not None
                else ""
            )
        ),
    ),
    _Component(
        "investment",
        _share("shrunk_accessibility_share"),
        lambda before, now: _went(
            "accessible posts (every image described, or no image)",
            _of(before, _count(before, "accessible_posts"), "own_posts", "own posts", "none (no own post)"),
            _of(now, _count(now, "accessible_posts"), "own_posts", "own posts", "none (no own post)"),
        ),
    ),
    _Component(
        "commitment",
        _percent_level("sustained_quality_score"),
        lambda before, now: _moved(
            "the window's average quality",
            _number(before, "sustained_quality_score"),
            _number(now, "sustained_quality_score"),
            lambda v: f"{v:.1f}",
        ),
    ),
    _Component(
        "commitment",
        _share("active_week_share"),
        lambda before, now: _went(
            "active weeks in the window",
            _fraction(before, "active_weeks_in_window", "window_weeks", "none"),
            _fraction(now, "active_weeks_in_window", "window_weeks", "none"),
        ),
    ),
    _Component(
        "commitment",
        _steadiness_level,
        lambda before, now: _moved(
            "the burst penalty",
            _number(before, "burst_penalty"),
            _number(now, "burst_penalty"),
            lambda v: f"{v:.2f}",
        ),
    ),
)


def _component_change(component: _Component, before: Row, now: Row) -> float:
    """How much a component moved, on its 0-1 scale; a component that appeared or
    disappeared counts as much as its defined level."""
    old, new = component.level(before), component.level(now)
    if old is not None and new is not None:
        return abs(new - old)
    defined = old if old is not None else new
    return 0.0 if defined is None else max(abs(defined), 0.01)


def _note_reasons(notes: str | None) -> dict[str, str]:
    """score_notes ('trust: reason; openness: reason') as {score: reason}."""
    reasons: dict[str, str] = {}
    for part in (notes or "").split("; "):
        name, separator, reason = part.partition(": ")
        if separator:
            reasons[name.strip()] = reason.strip()
    return reasons


def _describe_moves(before: Row | None, now: Row) -> list[str]:
    """What moved between an account's previous week and its latest, in sentences.

    Overall first, then each indicator that moved at least ``MOVE_THRESHOLD_POINTS``
    (largest move first) with the one or two components that changed the most,
    then the indicators that could not be scored in one of the two weeks.
    """
    if before is None:
        return ["First scored week: nothing to compare with yet."]
    sentences: list[str] = []
    overall_before, overall_now = _number(before, "overall_score"), _number(now, "overall_score")
    if overall_before is not None and overall_now is not None:
        delta = overall_now - overall_before
        if abs(delta) < MOVE_THRESHOLD_POINTS:
            sentences.append(f"Overall held steady at {overall_now:.1f} (was {overall_before:.1f}).")
        else:
            verb = "rose" if delta > 0 else "fell"
            sentences.append(
                f"Overall {verb} {abs(delta):.1f} points, from {overall_before:.1f} to {overall_now:.1f}."
            )
    moves: list[tuple[float, str]] = []
    appearances: list[str] = []
    reasons = _note_reasons(now.get("score_notes"))
    for indicator in INDICATORS:
        old, new = _number(before, f"{indicator}_score"), _number(now, f"{indicator}_score")
        if old is not None and new is None:
            # A week the account's export files do not cover is not scored at all: its reason.
            reason = reasons.get(indicator) or reasons.get("exports") or "not measurable"
            appearances.append(f"{indicator} could not be scored this week ({reason}); it was {old:.1f}.")
            continue
        if old is None and new is not None:
            appearances.append(f"{indicator} is scored again, at {new:.1f} (not measurable last week).")
            continue
        if old is None or new is None or abs(new - old) < MOVE_THRESHOLD_POINTS:
            continue
        changes = sorted(
            (
                (_component_change(component, before, now), component)
                for component in _COMPONENTS
                if component.indicator == indicator
            ),
            key=lambda pair: pair[0],
            reverse=True,
        )
        explained = [component.describe(before, now) for change, component in changes[:2] if change >= 0.01]
        verb = "rose" if new > old else "fell"
        sentence = f"{indicator} {verb} {abs(new - old):.1f} points, from {old:.1f} to {new:.1f}"
        sentence += f": {', '.join(explained)}." if explained else "."
        moves.append((abs(new - old), sentence[0].upper() + sentence[1:]))
    moves.sort(key=lambda pair: pair[0], reverse=True)
    sentences.extend(sentence for _, sentence in moves)
    sentences.extend(sentence[0].upper() + sentence[1:] for sentence in appearances)
    if not moves and not appearances:
        sentences.append(f"No indicator moved by {MOVE_THRESHOLD_POINTS:.0f} point or more.")
    return sentences


# --------------------------------------------------------------------------- coverage


def _describe_coverage(now: Row) -> list[str]:
    """Why the latest week's scores of an account rest on little or no data."""
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
    received, decided = _count(now, "questions_received"), _count(now, "questions_decided")
    pending = _count(now, "questions_pending")
    # Methodology 0.2: with few or no questions, trust draws on the account's earlier answer rate.
    has_habit = now.get("shrunk_answered_question_share") is not None
    if 0 < decided < MIN_QUESTIONS_FOR_RESPONSE_RATE:
        warnings.append(
            f"Only {decided} public question decided, fewer than the {MIN_QUESTIONS_FOR_RESPONSE_RATE} "
            + (
                "of a full answer rate: trust's answer rate leans on the account's earlier weeks."
                if has_habit
                else "needed for an answer rate: trust leaves the answer rate out."
            )
        )
    elif received == 0 and _count(now, "actions") > 0 and now.get("trust_score") is not None:
        warnings.append(
            "No public question this week: trust takes the account's usual answer rate and response "
            "time, with this week's presence."
            if has_habit
            else "No public question this week: trust rests on presence alone."
        )
    if pending:
        warnings.append(
            f"{pending} question{'s' if pending > 1 else ''} still within the answer window, "
            "left out of the answer rate until answered or the window closes."
        )
    weeks = _count(now, "weeks_of_history")
    if 0 < weeks < COMMITMENT_WINDOW_WEEKS:
        warnings.append(
            f"New account: {weeks} week{'s' if weeks > 1 else ''} of history, "
            f"fewer than the {COMMITMENT_WINDOW_WEEKS} of a full commitment window."
        )
    return warnings


# --------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class _Dot:
    x: str
    y: str


@dataclass(frozen=True)
class _RadarAxis:
    name: str
    x: str
    y: str
    label_x: str
    name_y: str
    value_y: str
    anchor: str
    value_text: str


@dataclass(frozen=True)
class _Tick:
    x: str
    y: str
    label: str


@dataclass(frozen=True)
class _RadarChart:
    chart_id: str
    title: str
    description: str
    width: int
    height: int
    center_x: str
    center_y: str
    rings: list[str]
    ticks: list[_Tick]
    axes: list[_RadarAxis]
    latest_points: str
    latest_dots: list[_Dot]
    average_points: str
    average_dots: list[_Dot]
    latest_label: str
    average_label: str


def _coordinate(value: float) -> str:
    return f"{value:.1f}"


def _score_or_na(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _radar_chart(
    chart_id: str,
    name: str,
    week_label: str,
    latest: Mapping[str, float | None],
    average: Mapping[str, float | None],
) -> _RadarChart:
    """A radar of the five indicators: the latest week and the 12-week average.

    An axis without a value is left out of its polygon (never drawn as 0)."""
    width, height, radius = 440, 340, 105.0
    center_x, center_y = width / 2, 162.0

    def point(index: int, value: float) -> tuple[float, float]:
        angle = math.radians(-90 + 360 * index / len(INDICATORS))
        return (
            center_x + radius * value / 100 * math.cos(angle),
            center_y + radius * value / 100 * math.sin(angle),
        )

    def polygon(values: Mapping[str, float | None]) -> tuple[str, list[_Dot]]:
        corners = [
            point(index, max(0.0, min(100.0, value)))
            for index, indicator in enumerate(INDICATORS)
            if (value := values.get(indicator)) is not None
        ]
        dots = [_Dot(_coordinate(x), _coordinate(y)) for x, y in corners]
        return " ".join(f"{dot.x},{dot.y}" for dot in dots), dots

    rings = [
        " ".join(
            f"{_coordinate(x)},{_coordinate(y)}"
            for x, y in (point(index, level) for index in range(len(INDICATORS)))
        )
        for level in (25, 50, 75, 100)
    ]
    ticks = [
        _Tick(_coordinate(center_x + 3), _coordinate(center_y - radius * level / 100 + 9), str(level))
        for level in (50, 100)
    ]
    axes = []
    for index, indicator in enumerate(INDICATORS):
        end_x, end_y = point(index, 100)
        label_x, label_y = point(index, 117)
        cosine = math.cos(math.radians(-90 + 360 * index / len(INDICATORS)))
        anchor = "middle" if abs(cosine) < 0.3 else "start" if cosine > 0 else "end"
        if label_y < center_y - radius:  # the top axis: the label sits above its end
            name_y, value_y = label_y - 12, label_y + 1
        elif label_y > center_y:
            name_y, value_y = label_y + 6, label_y + 19
        else:
            name_y, value_y = label_y - 2, label_y + 11
        axes.append(
            _RadarAxis(
                name=indicator,
                x=_coordinate(end_x),
                y=_coordinate(end_y),
                label_x=_coordinate(label_x),
                name_y=_coordinate(name_y),
                value_y=_coordinate(value_y),
                anchor=anchor,
                value_text=(
                    f"{_score_or_na(latest.get(indicator))} · avg {_score_or_na(average.get(indicator))}"
                ),
            )
        )
    latest_points, latest_dots = polygon(latest)
    average_points, average_dots = polygon(average)
    description = "; ".join(
        f"{indicator} {_score_or_na(latest.get(indicator))} "
        f"(12-week average {_score_or_na(average.get(indicator))})"
        for indicator in INDICATORS
    )
    return _RadarChart(
        chart_id=chart_id,
        title=f"{name}: the five indicators in week {week_label} against their 12-week average",
        description=f"Scores 0 to 100. {description}.",
        width=width,
        height=height,
        center_x=_coordinate(center_x),
        center_y=_coordinate(center_y),
        rings=rings,
        ticks=ticks,
        axes=axes,
        latest_points=latest_points,
        latest_dots=latest_dots,
        average_points=average_points,
        average_dots=average_dots,
        latest_label=f"Week {week_label}",
        average_label=f"{AVERAGE_WEEKS}-week average",
    )


@dataclass(frozen=True)
class _Gridline:
    y: float
    label: str


@dataclass(frozen=True)
class _WeekLabel:
    x: str
    text: str
    anchor: str


@dataclass(frozen=True)
class _Gap:
    x: str
    width: str


@dataclass(frozen=True)
class _TrendChart:
    chart_id: str
    name: str
    title: str
    description: str
    latest_text: str
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    gridlines: list[_Gridline]
    week_labels: list[_WeekLabel]
    path: str
    dots: list[_Dot]
    gaps: list[_Gap]
    last_dot: _Dot | None


def _trend_chart(
    chart_id: str,
    organization: str,
    score: str,
    weeks: Sequence[date],
    values: Sequence[float | None],
    tracked_from: int,
) -> _TrendChart:
    """A line of one score over the weeks, broken (and shaded) where it is NULL.

    Weeks before ``tracked_from`` (the organization's first scored week) are left
    blank, not shaded: nothing was measured there, nothing was missing."""
    width, height = 260, 118
    left, right, top, bottom = 30.0, 252.0, 8.0, 96.0
    step = (right - left) / max(len(weeks) - 1, 1)

    def x_of(index: int) -> float:
        return left + step * index if len(weeks) > 1 else (left + right) / 2

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * max(0.0, min(100.0, value)) / 100

    commands: list[str] = []
    dots: list[_Dot] = []
    gaps: list[_Gap] = []
    pen_down = False
    for index, value in enumerate(values):
        if value is None:
            pen_down = False
            if index >= tracked_from:
                start = max(left, x_of(index) - step / 2)
                end = min(right, x_of(index) + step / 2)
                gaps.append(_Gap(_coordinate(start), _coordinate(max(end - start, 2.0))))
            continue
        x, y = _coordinate(x_of(index)), _coordinate(y_of(value))
        commands.append(f"{'L' if pen_down else 'M'}{x} {y}")
        dots.append(_Dot(x, y))
        pen_down = True
    tracked = list(zip(weeks, values, strict=True))[tracked_from:]
    defined = [value for _, value in tracked if value is not None]
    last_dot = dots[-1] if dots and values and values[-1] is not None else None
    if defined:
        summary = (
            f"From {tracked[0][0].isoformat()} to {weeks[-1].isoformat()}: "
            f"latest {_score_or_na(values[-1])}, lowest {min(defined):.1f}, highest {max(defined):.1f}"
        )
    else:
        summary = "Never scored"
    if defined and len(defined) < len(tracked):
        summary += (
            f"; not measurable in {len(tracked) - len(defined)} of {len(tracked)} weeks (gaps in the line)"
        )
    labels = [_WeekLabel(_coordinate(left), _short_date(weeks[0]), "start")] if weeks else []
    if len(weeks) > 1:
        labels.append(_WeekLabel(_coordinate(right), _short_date(weeks[-1]), "end"))
    return _TrendChart(
        chart_id=chart_id,
        name=score,
        title=f"{organization}: {score} score per week",
        description=summary + ".",
        latest_text=f"latest {_score_or_na(values[-1])}" if values else "",
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        gridlines=[_Gridline(y_of(level), str(level)) for level in (0, 50, 100)],
        week_labels=labels,
        path=" ".join(commands),
        dots=dots,
        gaps=gaps,
        last_dot=last_dot,
    )


# --------------------------------------------------------------------------- view model


@dataclass(frozen=True)
class _AlertView:
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
    average: float | None
    delta_text: str
    delta_class: str
    rank_text: str


@dataclass(frozen=True)
class _AccountView:
    handle: str
    display_name: str | None
    platform: str
    weeks_text: str
    overall: float | None
    state_text: str | None = None
    """The account's state when it is not active (``suspended on mastodon.social since ...``)."""


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


@dataclass(frozen=True)
class _SectionView:
    position: int
    anchor: str
    name: str
    peer_group_text: str
    size_band: str | None
    language_code: str | None
    scores: list[_ScoreView]
    radar: _RadarChart
    trends: list[_TrendChart]
    moves: list[str]
    coverage: list[str]
    alerts: list[_AlertView]
    accounts: list[_AccountView]


@dataclass(frozen=True)
class _LinkView:
    name: str
    href: str


@dataclass(frozen=True)
class _ReportView:
    week_label: str
    week_range: str
    history_text: str
    generated_at: str
    generated_at_iso: str
    score_names: tuple[str, ...]
    alerts: list[_AlertView] | None
    sections: list[_SectionView]
    links: list[_LinkView]


def _mean(values: Iterable[float | None]) -> float | None:
    defined = [value for value in values if value is not None]
    return sum(defined) / len(defined) if defined else None


def _ordinal(position: int) -> str:
    suffix = "th" if 10 <= position % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(position % 10, "th")
    return f"{position}{suffix}"


def _peer_rank(value: float | None, peer_values: Sequence[float | None], peer_group: str | None) -> str:
    """'2nd of 3 in culture': competition ranking among the peers scored that week."""
    if value is None:
        return "not ranked (not measurable)"
    if peer_group is None:
        return "not ranked (no peer group)"
    scored = [round(peer, 1) for peer in peer_values if peer is not None]
    position = 1 + sum(peer > round(value, 1) for peer in scored)
    tied = sum(peer == round(value, 1) for peer in scored) > 1
    return f"{'tied ' if tied else ''}{_ordinal(position)} of {len(scored)} in {peer_group}"


def _anchor(position: int, organization_id: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", organization_id.lower()).strip("-")
    return f"org-{position}-{slug}" if slug else f"org-{position}"


def _check_link(name: str, href: str) -> _LinkView:
    scheme = urlsplit(href).scheme.lower()
    if scheme not in _SAFE_LINK_SCHEMES:
        raise ValueError(f"link {name!r}: scheme {scheme!r} is not allowed ({href!r})")
    return _LinkView(name, href)


def _score_views(
    values: Mapping[str, Sequence[float | None]],
    averages: Mapping[str, float | None],
    peer_latest: Sequence[Mapping[str, float | None]],
    peer_group: str | None,
) -> list[_ScoreView]:
    """The section's score table: latest, 12-week average, change, peer rank."""
    views = []
    for score in SCORES:
        now = values[score][-1]
        before = values[score][-2] if len(values[score]) > 1 else None
        if now is None or before is None:
            delta_text, delta_class = "–", "flat"
        elif abs(now - before) < 0.05:
            delta_text, delta_class = "= 0.0", "flat"
        else:
            delta_text = f"{'▲ +' if now > before else '▼ −'}{abs(now - before):.1f}"
            delta_class = "up" if now > before else "down"
        views.append(
            _ScoreView(
                name=score,
                value=now,
                average=averages[score],
                delta_text=delta_text,
                delta_class=delta_class,
                rank_text=_peer_rank(now, [peer[score] for peer in peer_latest], peer_group),
            )
        )
    return views


def _build_view(
    organizations: list[Row],
    accounts: list[Row],
    scores: list[Row],
    alerts: list[Alert] | None,
    links: Mapping[str, str] | None,
    generated_at: datetime,
) -> _ReportView:
    """Everything the template shows, computed from the marts' rows."""
    latest_week: date = max(row["week_start_date"] for row in scores)
    first_week: date = min(row["week_start_date"] for row in scores)
    weeks = [first_week + timedelta(weeks=index) for index in range((latest_week - first_week).days // 7 + 1)]
    week_index = {week: index for index, week in enumerate(weeks)}
    previous_week = latest_week - timedelta(weeks=1)
    average_since = latest_week - timedelta(weeks=AVERAGE_WEEKS - 1)
    week_label = _week_label(latest_week)

    rows_by_account: dict[str, dict[date, Row]] = {}
    for row in scores:
        rows_by_account.setdefault(row["account_id"], {})[row["week_start_date"]] = row
    accounts_by_id = {account["account_id"]: account for account in accounts}
    # Organizations and accounts known only from the scores still get their section and line.
    known = {organization["organization_id"] for organization in organizations}
    organizations = organizations + [
        {"organization_id": organization_id, "organization_name": organization_id}
        for organization_id in sorted({row["organization_id"] for row in scores} - known)
    ]
    account_ids: dict[str, list[str]] = {
        organization["organization_id"]: [] for organization in organizations
    }
    owners = {account["account_id"]: account["organization_id"] for account in accounts} | {
        row["account_id"]: row["organization_id"] for row in scores
    }
    for account_id, organization_id in sorted(owners.items()):
        account_ids.setdefault(organization_id, []).append(account_id)

    series = {
        organization_id: {
            score: [
                _mean(
                    _number(rows_by_account.get(account_id, {}).get(week, {}), f"{score}_score")
                    for account_id in ids
                )
                for week in weeks
            ]
            for score in SCORES
        }
        for organization_id, ids in account_ids.items()
    }
    latest = {
        organization_id: {score: values[score][-1] for score in SCORES}
        for organization_id, values in series.items()
    }
    ordered = sorted(
        organizations,
        key=lambda organization: (
            latest[organization["organization_id"]]["overall"] is None,
            -(latest[organization["organization_id"]]["overall"] or 0.0),
            str(organization.get("organization_name") or ""),
        ),
    )
    order = {organization["organization_id"]: index for index, organization in enumerate(ordered)}
    anchors = {
        organization["organization_id"]: _anchor(index + 1, organization["organization_id"])
        for index, organization in enumerate(ordered)
    }
    names = {
        organization["organization_id"]: str(
            organization.get("organization_name") or organization["organization_id"]
        )
        for organization in ordered
    }
    account_labels = {
        account_id: str(accounts_by_id.get(account_id, {}).get("handle") or account_id)
        for account_id in owners
    }

    alert_views = [
        (
            alert,
            _AlertView(
                kind_label=_ALERT_LABELS.get(alert.kind, alert.kind),
                kind_class=alert.kind if alert.kind in _ALERT_LABELS else "other",
                organization_name=names.get(alert.organization_id, alert.organization_id),
                anchor=anchors.get(alert.organization_id),
                account_label=account_labels.get(alert.account_id, alert.account_id),
                message=alert.message,
            ),
        )
        for alert in sorted(
            alerts or [], key=lambda alert: (order.get(alert.organization_id, len(order)), alert.account_id)
        )
    ]

    sections = []
    for position, organization in enumerate(ordered, start=1):
        organization_id = organization["organization_id"]
        name, slug = names[organization_id], anchors[organization_id]
        peer_group = organization.get("peer_group")
        values = series[organization_id]
        averages = {
            score: _mean(values[score][week_index[week]] for week in weeks if week >= average_since)
            for score in SCORES
        }
        ids = account_ids[organization_id]
        moves: list[str] = []
        coverage: list[str] = [] if ids else ["No account registered: nothing to score."]
        account_views = []
        for account_id in ids:
            label = account_labels[account_id]
            prefix = f"{label}: " if len(ids) > 1 else ""
            weeks_rows = rows_by_account.get(account_id, {})
            current = weeks_rows.get(latest_week)
            if current is None:
                last = max(weeks_rows) if weeks_rows else None
                coverage.append(
                    f"{label}: no score for week {week_label}"
                    + (f" (last scored week: {_week_label(last)})." if last else " (not scored yet).")
                )
                moves.append(f"{label}: not scored this week.")
            else:
                before = weeks_rows.get(previous_week)
                moves.extend(prefix + sentence for sentence in _describe_moves(before, current))
                coverage.extend(prefix + warning for warning in _describe_coverage(current))
            account = accounts_by_id.get(account_id, {})
            state = _state_text(account)
            if state is not None:
                # Suspended, moved...: a state, never scores read as a collapse or a silence.
                moves = [line for line in moves if not line.startswith(prefix)] if prefix else []
                coverage = [line for line in coverage if not line.startswith(prefix)] if prefix else []
                moves.append(f"{label}: {state}; its scores are not compared.")
                unseen = (
                    "Its latest counts were not observed"
                    if account.get("account_state") in (None, "active")
                    else "Its counts are not shown by the platform"
                )
                coverage.insert(0, f"{label}: {state}. {unseen}: not a collapse.")
            account_views.append(
                _AccountView(
                    handle=label,
                    display_name=account.get("display_name"),
                    platform=str(account.get("platform") or account_id.partition(":")[0]),
                    weeks_text=str(_count(current, "weeks_of_history")) if current else "–",
                    overall=_number(current, "overall_score") if current and state is None else None,
                    state_text=state,
                )
            )
        tracked_from = min(
            (week_index[week] for account_id in ids for week in rows_by_account.get(account_id, {})),
            default=len(weeks),
        )
        peers = [
            latest[other["organization_id"]] for other in ordered if other.get("peer_group") == peer_group
        ]
        sections.append(
            _SectionView(
                position=position,
                anchor=slug,
                name=name,
                peer_group_text=str(peer_group) if peer_group else "none",
                size_band=organization.get("size_band"),
                language_code=organization.get("language_code"),
                scores=_score_views(values, averages, peers, peer_group),
                radar=_radar_chart(f"{slug}-radar", name, week_label, latest[organization_id], averages),
                trends=[
                    _trend_chart(f"{slug}-trend-{score}", name, score, weeks, values[score], tracked_from)
                    for score in SCORES
                ],
                moves=moves,
                coverage=coverage,
                alerts=[view for alert, view in alert_views if alert.organization_id == organization_id],
                accounts=account_views,
            )
        )
    week_end = latest_week + timedelta(days=6)
    return _ReportView(
        week_label=week_label,
        week_range=f"Monday {_long_date(latest_week)} to Sunday {_long_date(week_end)}",
        history_text=f"{len(weeks)} weeks from {_long_date(first_week)} to {_long_date(latest_week)}",
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        generated_at_iso=generated_at.isoformat(timespec="seconds"),
        score_names=SCORES,
        alerts=None if alerts is None else [view for _, view in alert_views],
        sections=sections,
        links=[_check_link(name, href) for name, href in (links or {}).items()],
    )


# --------------------------------------------------------------------------- writing


def _render(view: _ReportView) -> str:
    """The report's HTML, every value escaped by Jinja2's autoescape."""
    import jinja2

    from rapport.publish.templates.weekly_report import WEEKLY_REPORT

    environment = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    return environment.from_string(WEEKLY_REPORT).render(report=view)


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


def write_report(
    warehouse: Path,
    output_dir: Path,
    *,
    links: dict[str, str] | None = None,
    alerts: list[Alert] | None = None,
) -> Path:
    """Write the weekly relationship report of the warehouse's latest complete week.

    Reads ``marts.dim_organizations``, ``marts.dim_accounts`` and
    ``marts.fct_relationship_scores`` (one read-only connection, closed before
    rendering) and writes ``output_dir/rapport-<iso year>-W<iso week>.html`` and
    its copy ``output_dir/latest.html``, each atomically. ``links`` (name ->
    relative path or URL) are listed in the footer; ``alerts`` (from
    ``compute_alerts`` or elsewhere) are shown at the top and in their
    organization's section; ``None`` leaves the alert box out, an empty list says
    there is no alert.

    Returns the weekly file's path. Raises ``FileNotFoundError`` when the
    warehouse does not exist, ``ReportError`` when it holds no score, and
    ``ValueError`` for a link whose scheme is not http, https, file or mailto.
    """
    organizations, accounts, scores = _read(warehouse, [_ORGANIZATIONS_SQL, _ACCOUNTS_SQL, _SCORES_SQL])
    if not scores:
        raise ReportError(f"{warehouse}: marts.fct_relationship_scores is empty, nothing to report")
    view = _build_view(organizations, accounts, scores, alerts, links, datetime.now(UTC))
    html = _render(view)
    output_dir.mkdir(parents=True, exist_ok=True)
    weekly = output_dir / f"rapport-{view.week_label}.html"
    _write_atomically(weekly, html)
    _write_atomically(output_dir / "latest.html", html)
    return weekly
