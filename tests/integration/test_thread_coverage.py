"""Thread coverage in the marts over a first run and the nights that read its backlog (issue 15).

The four accounts of the test world with the most reply threads (test_thread_backlog.py's
world, servers and registry): the first run reads 40 threads per account, newest first, so
the older weeks have unread threads; each later night reads the backlog and the loader logs
the oldest post it read as the batch's window_since, so the weeks of those posts are
recomputed by the incremental models exactly as a full rebuild computes them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rapport.settings import get_settings
from tests.integration import test_thread_backlog as backlog
from tests.integration.conftest import query
from tests.integration.test_incremental import contents
from tests.integration.test_real_platforms import run_night

pytestmark = pytest.mark.slow

# The same world, accounts, registry and servers as the backlog test, in a home of this module's own.
world = backlog.world
handles = backlog.handles
home = backlog.home
servers = backlog.servers

FIRST_NIGHT = backlog.FIRST_NIGHT

_COVERAGE = """
    select account_id, week_start_date, threads_with_replies, threads_read, unread_threads, thread_coverage
    from marts.fct_relationship_scores
    order by account_id, week_start_date
"""


def coverage(warehouse: Path) -> dict[tuple[str, object], tuple]:
    """(account, week) -> (threads with replies, read, unread, coverage)."""
    return {(row[0], row[1]): row[2:] for row in query(warehouse, _COVERAGE)}


def test_a_backlog_read_recomputes_the_coverage_of_old_weeks_as_a_full_rebuild_does(
    servers: object, home: Path
) -> None:
    from rapport.transform import build_models

    warehouse = home / "data" / "warehouse.duckdb"
    run_night(FIRST_NIGHT)
    first = coverage(warehouse)
    unread = {key for key, (_, _, unread_threads, _) in first.items() if unread_threads > 0}
    assert unread, "the first run left no thread unread: the world is too small for this test"
    assert all(first[key][3] < 1 for key in unread)

    run_night(FIRST_NIGHT + timedelta(days=1))
    second = coverage(warehouse)
    lookback = (FIRST_NIGHT - timedelta(weeks=3)).date()
    repaired = [key for key in unread if key[1] < lookback and second[key][1] > first[key][1]]
    assert repaired, "no week older than the nightly window gained read threads"

    nightly = contents(warehouse)
    build_models(get_settings(), "--full-refresh")
    rebuilt = contents(warehouse)
    for model, rows in rebuilt.items():
        assert nightly[model] == rows, f"{model} differs from its full rebuild"
