"""The thread ledger over a week of nights, through the real connectors and pipeline.

Four accounts of the test world with many more than 40 reply threads in their
26 weeks (two on Mastodon, two on Bluesky) are backfilled, then run night after
night with nothing new: the backlog the first run left is read, newest first,
by the night the connectors' READMEs state (1 + ceil((T - 40) / 40) with no
thread changing), the weeks of the old threads are recomputed, and once
everything is read a night makes no thread call. Then the world moves on by a
day (a new post with a reply, a new reply on a recent post): that night costs
what it should and no more.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import query, rapport_environment
from tests.integration.test_real_platforms import registry_yaml, run_night
from tests.platforms.bluesky_server import GET_POST_THREAD, BlueskyServer
from tests.platforms.mastodon_server import MastodonServer, status_id
from tests.platforms.world import Account as WorldAccount
from tests.platforms.world import Post, Segment, World

pytestmark = pytest.mark.slow

FIRST_NIGHT = datetime(2026, 11, 23, tzinfo=UTC)
SINCE = FIRST_NIGHT - timedelta(weeks=26)
BUDGET = 40


def threads_of(account: WorldAccount) -> list[Post]:
    return [post for post in account.threads() if SINCE <= post.created_at < FIRST_NIGHT]


def documented_nights(account: WorldAccount) -> int:
    """The READMEs' bound: the first night, then ceil((T - 40) / (40 - c)) more, c = 0 changed a night."""
    return 1 + math.ceil(max(len(threads_of(account)) - BUDGET, 0) / BUDGET)


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(accounts=50, weeks=26, until=FIRST_NIGHT, seed=0)


@pytest.fixture(scope="module")
def handles(world: World) -> dict[str, list[str]]:
    """The two accounts with the most threads of each platform's half of the world."""

    def busiest(numbers: range) -> list[str]:
        chosen = sorted(numbers, key=lambda number: -len(threads_of(world.accounts[f"org{number:03d}"])))
        return [f"org{number:03d}" for number in chosen[:2]]

    return {"mastodon": busiest(range(1, 26)), "bluesky": busiest(range(26, 51))}


@pytest.fixture(scope="module")
def home(handles: dict[str, list[str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("backlog")
    (home / "config").mkdir()
    (home / "config" / "accounts.yml").write_text(registry_yaml(handles["mastodon"], handles["bluesky"]))
    return home


@pytest.fixture
def servers(world: World, home: Path) -> Iterator[tuple[MastodonServer, BlueskyServer]]:
    # Started for each test: a server indexes the world when it starts (the last test moves it on).
    with (
        MastodonServer(world, rate_limit=300, window_seconds=2) as mastodon,
        BlueskyServer(world, rate_limit=3000, window_seconds=2) as bluesky,
        rapport_environment(
            home, RAPPORT_MASTODON_BASE_URL=mastodon.url, RAPPORT_BLUESKY_BASE_URL=bluesky.url
        ),
    ):
        yield mastodon, bluesky


def thread_calls(servers: tuple[MastodonServer, BlueskyServer], handle: str) -> list[str]:
    """The posts whose thread was asked for an account: Mastodon status ids, Bluesky at:// URIs."""
    mastodon, bluesky = servers
    return [request.path.split("/")[4] for request in mastodon.requests_for(handle, "context")] + [
        request.query["uri"] for request in bluesky.requests_for(handle, GET_POST_THREAD)
    ]


def is_read(post: Post, read: set[str], bluesky: BlueskyServer) -> bool:
    """Its thread was read: by its own call, or (Bluesky) through the thread of the account's post at its root."""
    if status_id(post) in read or bluesky.uri(post) in read:
        return True
    return post.root.author is post.author and bluesky.uri(post.root) in read


def test_a_first_runs_backlog_is_read_by_the_documented_night_then_a_quiet_night_reads_no_thread(
    servers: tuple[MastodonServer, BlueskyServer], world: World, handles: dict[str, list[str]], home: Path
) -> None:
    mastodon, bluesky = servers
    accounts = {handle: world.accounts[handle] for names in handles.values() for handle in names}
    assert all(len(threads_of(account)) > 2 * BUDGET for account in accounts.values())
    last_night = max(documented_nights(account) for account in accounts.values())
    read: dict[str, set[str]] = {handle: set() for handle in accounts}
    per_night: list[dict[str, int]] = []
    for number in range(1, last_night + 2):
        mastodon.reset()
        bluesky.reset()
        summaries = run_night(FIRST_NIGHT + timedelta(days=number - 1))
        per_night.append({summary["account_id"]: summary["requests"] for summary in summaries})
        for handle, account in accounts.items():
            calls = thread_calls(servers, handle)
            assert len(calls) <= BUDGET and not read[handle] & set(calls), (number, handle)
            read[handle] |= set(calls)
            if number == documented_nights(account):
                unread = [post for post in threads_of(account) if not is_read(post, read[handle], bluesky)]
                assert unread == [], f"{handle}: {len(unread)} threads unread on night {number}"
            if number > documented_nights(account):
                assert calls == [], f"{handle}: night {number} has nothing new but read {len(calls)} threads"
    print(f"\nrequests per account, night by night: {per_night}")

    # The old threads' weeks were recomputed: each batch that read them logged the oldest as its
    # window_since, and the weekly interactions of the oldest weeks match the raw rows.
    warehouse = home / "data" / "warehouse.duckdb"
    [(oldest_logged,)] = query(
        warehouse, "select min(window_since) from raw.load_batches where run_date > ?", [FIRST_NIGHT.date()]
    )
    assert oldest_logged < FIRST_NIGHT.replace(tzinfo=None) - timedelta(weeks=4)
    mismatched = query(
        warehouse,
        """
        with raw_weeks as (
            select
                account_id,
                cast(date_trunc('week', created_at) as date) as week_start_date,
                count(distinct author_native_id) as interlocutors
            from raw.interactions
            group by all
        )
        select raw_weeks.account_id, raw_weeks.week_start_date, raw_weeks.interlocutors, weeks.interlocutors
        from raw_weeks
        left join intermediate.int_interactions_aggregated_to_weeks as weeks
            on weeks.account_id = raw_weeks.account_id and weeks.week_start_date = raw_weeks.week_start_date
        where weeks.interlocutors is distinct from raw_weeks.interlocutors
        """,
    )
    assert mismatched == []


def move_on(world: World, account: WorldAccount, at: datetime) -> int:
    """A day of activity: a new post of the account with a reply, and a new reply on its newest thread.
    Returns the threads it changes (2)."""
    public = next(post.author for post in account.posts if post.author is not account.person)
    number = max(world.posts) + 1
    new = Post(
        number, account.handle, account.number, account.person, at, (Segment("text", "Open day!"),), "en"
    )
    reply = Post(
        number + 1,
        account.handle,
        account.number,
        public,
        at + timedelta(hours=1),
        (Segment("text", "See you there?"),),
        "en",
        parent=new,
    )
    newest = account.threads()[0]
    answer = Post(
        number + 2,
        account.handle,
        account.number,
        public,
        at + timedelta(hours=2),
        (Segment("text", "Thanks for this"),),
        "en",
        parent=newest,
    )
    new.replies.append(reply)
    newest.replies.append(answer)
    for post in (new, reply, answer):
        account.posts.append(post)
        world.posts[post.number] = post
    return 2


@pytest.fixture
def moved_on(world: World, handles: dict[str, list[str]]) -> dict[str, int]:
    """The world a day after the quiet nights of the test above: two threads changed per account."""
    day = FIRST_NIGHT + timedelta(days=8)
    return {
        handle: move_on(world, world.accounts[handle], day + timedelta(hours=9))
        for names in handles.values()
        for handle in names
    }


def test_a_night_with_activity_costs_the_lookup_the_new_pages_and_the_changed_threads(
    moved_on: dict[str, int], servers: tuple[MastodonServer, BlueskyServer], world: World
) -> None:
    mastodon, bluesky = servers
    summaries = run_night(FIRST_NIGHT + timedelta(days=9))
    cost = {summary["account_id"]: summary["requests"] for summary in summaries}
    for handle, changed in moved_on.items():
        assert len(thread_calls(servers, handle)) == changed, handle
        is_mastodon = bool(mastodon.requests_for(handle))
        lookup = 1 if is_mastodon else 2  # Bluesky: resolveHandle and getProfile
        listing = len(mastodon.requests_for(handle, "statuses")) + len(
            bluesky.requests_for(handle, "app.bsky.feed.getAuthorFeed")
        )
        made = len(mastodon.requests_for(handle)) + len(bluesky.requests_for(handle))
        assert made <= 1.25 * (lookup + listing + changed), handle
    print(f"\nrequests per account, a night with activity: {cost}")
