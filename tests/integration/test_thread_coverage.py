"""Thread coverage in the marts over a first run and the nights that read its backlog (issue 15).

The four accounts of the test world with the most reply threads (test_thread_backlog.py's
world, servers and registry): the first run reads 40 threads per account, newest first, so
the older weeks have unread threads, and none of them may be scored as if nobody asked.
Each later night reads the backlog and the loader logs the oldest post it read as the
batch's window_since, so the weeks of those posts are recomputed by the incremental models
exactly as a full rebuild computes them; by the night the sources' READMEs state, every
thread is read and every week is scored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from rapport.settings import get_settings
from tests.conftest import PROJECT_ROOT
from tests.integration import test_thread_backlog as backlog
from tests.integration.conftest import query
from tests.integration.test_incremental import contents
from tests.integration.test_real_platforms import run_night
from tests.platforms.world import World

pytestmark = pytest.mark.slow

# The same world, accounts, registry and servers as the backlog test, in a home of this module's own.
world = backlog.world
handles = backlog.handles
home = backlog.home
servers = backlog.servers

FIRST_NIGHT = backlog.FIRST_NIGHT
MIN_THREAD_COVERAGE = yaml.safe_load((PROJECT_ROOT / "sql" / "dbt_project.yml").read_text(encoding="utf-8"))[
    "vars"
]["min_thread_coverage"]

_WEEKS = """
    select
        accounts.handle, scores.week_start_date, scores.threads_with_replies, scores.threads_read,
        scores.unread_threads, scores.thread_coverage, scores.unresolved_replies, scores.actions,
        scores.questions_received, scores.trust_score, scores.score_notes
    from marts.fct_relationship_scores as scores
    inner join marts.dim_accounts as accounts on scores.account_id = accounts.account_id
    order by all
"""


def account_weeks(warehouse: Path) -> dict[tuple[str, date], dict[str, Any]]:
    """(world handle, week) -> the week's coverage and trust, every account-week of the scores."""
    names = [
        "threads_with_replies",
        "threads_read",
        "unread_threads",
        "thread_coverage",
        "unresolved_replies",
        "actions",
        "questions_received",
        "trust_score",
        "score_notes",
    ]
    return {
        (handle.lstrip("@").split(".")[0], week): dict(zip(names, rest, strict=True))
        for handle, week, *rest in query(warehouse, _WEEKS)
    }


@dataclass
class Nights:
    """The nights run so far in this module's home, and the scores the first one left."""

    run: int = 0
    first: dict[tuple[str, date], dict[str, Any]] = field(default_factory=dict)

    def run_through(self, number: int, warehouse: Path) -> None:
        while self.run < number:
            run_night(FIRST_NIGHT + timedelta(days=self.run))
            self.run += 1
            if self.run == 1:
                self.first = account_weeks(warehouse)


@pytest.fixture(scope="module")
def nights() -> Nights:
    return Nights()


def test_after_the_first_night_no_week_with_unread_threads_is_scored_as_if_nobody_asked(
    servers: object, home: Path, nights: Nights, world: World
) -> None:
    nights.run_through(1, home / "data" / "warehouse.duckdb")
    unread = {key: week for key, week in nights.first.items() if week["unread_threads"] > 0}
    assert len(unread) >= 4, "the first run left too few weeks unread for this test"
    for (handle, week_start), week in nights.first.items():
        where = f"{handle} {week_start}: {week}"
        assert week["threads_read"] <= week["threads_with_replies"], where
        if week["unread_threads"] == 0:
            assert week["thread_coverage"] in (None, 1.0) and week["unresolved_replies"] == 0, where
            continue
        assert week["thread_coverage"] < 1, where
        assert week["trust_score"] is None or week["questions_received"] > 0, where
        if week["thread_coverage"] < MIN_THREAD_COVERAGE:
            assert week["trust_score"] is None, where
        if week["trust_score"] is None:
            note = f"trust: {week['unread_threads']} of {week['threads_with_replies']} threads with replies unread"
            assert note in week["score_notes"], where
    # The threads counted are the world's: its posts with replies, week by week.
    truth = Counter(
        (handle, (post.created_at - timedelta(days=post.created_at.weekday())).date())
        for handle in {key[0] for key in nights.first}
        for post in backlog.threads_of(world.accounts[handle])
    )
    counted = {
        key: week["threads_with_replies"]
        for key, week in nights.first.items()
        if week["threads_with_replies"]
    }
    assert counted == dict(truth)


def test_a_backlog_read_recomputes_the_coverage_of_old_weeks_as_a_full_rebuild_does(
    servers: object, home: Path, nights: Nights
) -> None:
    from rapport.transform import build_models

    warehouse = home / "data" / "warehouse.duckdb"
    nights.run_through(1, warehouse)
    before = account_weeks(warehouse)
    nights.run_through(nights.run + 1, warehouse)
    after = account_weeks(warehouse)
    lookback = (FIRST_NIGHT - timedelta(weeks=3)).date()
    repaired = [
        key
        for key, week in before.items()
        if week["unread_threads"] > 0
        and key[1] < lookback
        and after[key]["threads_read"] > week["threads_read"]
    ]
    assert repaired, "no week older than the nightly window gained read threads"

    nightly = contents(warehouse)
    build_models(get_settings(), "--full-refresh")
    rebuilt = contents(warehouse)
    for model, rows in rebuilt.items():
        assert nightly[model] == rows, f"{model} differs from its full rebuild"


def documented_last_night(world: World, handles: dict[str, list[str]]) -> int:
    return max(
        backlog.documented_nights(world.accounts[handle]) for names in handles.values() for handle in names
    )


def test_by_the_documented_night_the_weeks_left_unread_by_the_first_night_are_read_and_scored(
    servers: object, home: Path, nights: Nights, world: World, handles: dict[str, list[str]]
) -> None:
    warehouse = home / "data" / "warehouse.duckdb"
    last = documented_last_night(world, handles)
    nights.run_through(last, warehouse)
    weeks = account_weeks(warehouse)
    for (handle, week_start), week in weeks.items():
        where = f"{handle} {week_start}: {week}"
        if week["unread_threads"] == 0:
            assert week["thread_coverage"] in (None, 1.0) and week["unresolved_replies"] == 0, where
            if week["actions"] > 0 or week["questions_received"] > 0:
                assert week["trust_score"] is not None, where
        else:  # still never scored as if nobody asked
            assert week["trust_score"] is None or week["questions_received"] > 0, where
    unread_first = [key for key, week in nights.first.items() if week["unread_threads"] > 0]
    assert all(weeks[key]["trust_score"] is not None for key in unread_first)
    left = {key: week["unread_threads"] for key, week in weeks.items() if week["unread_threads"]}
    assert left == {}, left
    print(
        f"\n{len(unread_first)} account-weeks had unread threads after the first night; by night {last}: {left}"
    )


def test_by_the_documented_night_every_thread_is_read(
    servers: object, home: Path, nights: Nights, world: World, handles: dict[str, list[str]]
) -> None:
    warehouse = home / "data" / "warehouse.duckdb"
    nights.run_through(documented_last_night(world, handles), warehouse)
    unread = {
        key: week["unread_threads"]
        for key, week in account_weeks(warehouse).items()
        if week["unread_threads"]
    }
    assert unread == {}
