"""A run for logical date D gives the same rows and marts whatever day it executes.

The same run date is executed with the clock at D, D + 10 days and D + 400 days
against Mastodon and Bluesky servers whose content does not change: the marts
must be identical. Then against servers that, like the real ones, hold
everything published up to the moment they are asked: a run for D executed
later (a backfill) sees posts, replies and edits made after D, and must still
score only the weeks before D, from what was published before D.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import query, rapport_environment
from tests.platforms.bluesky_server import BlueskyServer
from tests.platforms.mastodon_server import MastodonServer
from tests.platforms.world import World

pytestmark = pytest.mark.slow

RUN_DATE = datetime(2026, 11, 23, tzinfo=UTC)
CLOCK_OFFSETS = (timedelta(0), timedelta(days=10), timedelta(days=400))
HISTORY_WEEKS = 12
REGISTRY = (
    "organizations:\n"
    "  - {id: city-news, name: City News, peer_group: media, size_band: medium, language: en,\n"
    '     accounts: [{platform: mastodon, handle: "@org001", instance: social.example},\n'
    "                {platform: bluesky, handle: org002.bsky.social}]}\n"
)


def world_as_of(world: World, moment: datetime) -> World:
    """What the platforms hold at ``moment``: nothing published or edited after it."""
    seen = copy.deepcopy(world)
    seen.posts = {number: post for number, post in seen.posts.items() if post.created_at < moment}
    for account in seen.accounts.values():
        account.posts = [post for post in account.posts if post.created_at < moment]
    for post in seen.posts.values():
        post.replies = [reply for reply in post.replies if reply.created_at < moment]
        if post.edited_at is not None and post.edited_at >= moment:
            post.edited_at = None
    seen.until = moment
    return seen


@pytest.fixture(scope="module")
def world() -> World:
    """Two organizations posting from 30 weeks before the run date to 60 weeks after it."""
    return World.generate(accounts=2, weeks=90, until=RUN_DATE + timedelta(weeks=60), seed=3)


@pytest.fixture(scope="module")
def world_until_run_date(world: World) -> World:
    """The same organizations, with nothing published at or after the run date."""
    return world_as_of(world, RUN_DATE)


def marts_at(world: World, home: Path, clock: datetime) -> dict[str, list[tuple]]:
    """Run every step for RUN_DATE with the clock at ``clock`` against servers holding what ``world``
    holds at that moment; return every mart's rows, sorted, and each account's weeks."""
    import time_machine

    from tests.integration.conftest import run_pipeline

    (home / "config").mkdir(parents=True)
    (home / "config" / "accounts.yml").write_text(REGISTRY)
    seen = world_as_of(world, clock)
    with (
        MastodonServer(seen) as mastodon,
        BlueskyServer(seen) as bluesky,
        rapport_environment(
            home,
            RAPPORT_MASTODON_BASE_URL=mastodon.url,
            RAPPORT_BLUESKY_BASE_URL=bluesky.url,
            RAPPORT_HISTORY_WEEKS=str(HISTORY_WEEKS),
            RAPPORT_ALLOW_PRIVATE_INSTANCES="true",
        ),
        time_machine.travel(clock, tick=True),
    ):
        assert datetime.now(UTC) >= clock  # the whole run sees the moved clock
        run = run_pipeline(RUN_DATE)
    assert run["validated"]["quarantined"] == []
    warehouse = home / "data" / "warehouse.duckdb"
    tables = [
        row[0]
        # Tables and views (ADR 0013): every mart.
        for row in query(
            warehouse, "select table_name from information_schema.tables where table_schema = 'marts'"
        )
    ]
    marts = {table: query(warehouse, f"select * from marts.{table} order by all") for table in sorted(tables)}
    marts["weeks"] = query(
        warehouse,
        "select account_id, min(week_start_date), max(week_start_date), count(*)"
        " from marts.fct_relationship_scores group by all order by all",
    )
    marts["latest_rows"] = query(
        warehouse,
        "select (select max(created_at) from raw.posts), (select max(created_at) from raw.interactions),"
        " (select max(observed_at) from raw.account_snapshots)",
    )
    return marts


@pytest.fixture(scope="module")
def marts_by_offset(world_until_run_date: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The marts of the run for RUN_DATE executed at each clock offset, on servers that do not change."""
    yield {
        offset.days: marts_at(
            world_until_run_date, tmp_path_factory.mktemp(f"same-{offset.days}"), RUN_DATE + offset
        )
        for offset in CLOCK_OFFSETS
    }


@pytest.fixture(scope="module")
def late_marts_by_offset(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The marts of the run for RUN_DATE executed late, on servers holding what was published since."""
    yield {
        offset.days: marts_at(world, tmp_path_factory.mktemp(f"late-{offset.days}"), RUN_DATE + offset)
        for offset in CLOCK_OFFSETS[1:]
    }


def test_the_servers_hold_posts_published_after_the_run_date_when_asked_later(world: World):
    later = world_as_of(world, RUN_DATE + timedelta(days=10))
    on_time = world_as_of(world, RUN_DATE)
    assert any(post.created_at >= RUN_DATE for post in later.posts.values())
    assert all(post.created_at < RUN_DATE for post in on_time.posts.values())


def test_a_run_date_gives_the_same_marts_executed_on_the_day_10_days_later_and_400_days_later(
    marts_by_offset: dict,
):
    on_time = marts_by_offset[0]
    assert on_time["fct_relationship_scores"], "the run scored nothing"
    for days in (10, 400):
        for table, rows in on_time.items():
            assert marts_by_offset[days][table] == rows, (
                f"marts.{table} differs when the run executes {days} days late"
            )


def test_a_run_executed_late_scores_the_weeks_before_its_run_date_from_what_was_published_before_it(
    marts_by_offset: dict, late_marts_by_offset: dict
):
    last_complete_week = (RUN_DATE - timedelta(days=RUN_DATE.weekday() + 7)).date()
    for days, marts in [*marts_by_offset.items(), *late_marts_by_offset.items()]:
        weeks = marts["weeks"]
        assert [account_id for account_id, *_ in weeks] == [
            "bluesky:org002.bsky.social",
            "mastodon:@org001@social.example",
        ], days
        for account_id, first_week, last_week, count in weeks:
            assert last_week == last_complete_week, (days, account_id)
            assert count == (last_week - first_week).days // 7 + 1, (days, account_id)
        [(latest_post, latest_interaction, latest_snapshot)] = marts["latest_rows"]
        assert latest_post < RUN_DATE.replace(tzinfo=None), days
        assert latest_interaction < RUN_DATE.replace(tzinfo=None), days
        assert latest_snapshot == RUN_DATE.replace(tzinfo=None), days
