"""Mastodon and Bluesky end to end, against local servers that speak their APIs.

50 accounts (25 on each platform) go through the whole pipeline twice: the
first night backfills 26 weeks, the second finds nothing new but reads the
thread ledger's backlog (the threads past the first night's budget). The
servers count every request, so the documented per-account cost is checked,
and every 429 they send is checked to have been waited out.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import airflow, airflow_environment, query, rapport_environment
from tests.platforms.bluesky_server import BlueskyServer
from tests.platforms.mastodon_server import MastodonServer
from tests.platforms.world import Account as WorldAccount
from tests.platforms.world import World

pytestmark = pytest.mark.slow

FIRST_NIGHT = datetime(2026, 11, 23, tzinfo=UTC)
SECOND_NIGHT = FIRST_NIGHT + timedelta(days=1)
MASTODON_HANDLES = [f"org{number:03d}" for number in range(1, 26)]
BLUESKY_HANDLES = [f"org{number:03d}" for number in range(26, 51)]
BUDGET = 40  # the connectors' default thread budget


def registry_yaml(
    mastodon_handles: list[str] = MASTODON_HANDLES, bluesky_handles: list[str] = BLUESKY_HANDLES
) -> str:
    lines = ["organizations:"]
    for handle in mastodon_handles + bluesky_handles:
        lines += [
            f"  - id: {handle}",
            f"    name: Organization {handle}",
            "    peer_group: test",
            "    size_band: medium",
            "    language: en",
            "    accounts:",
        ]
        if handle in mastodon_handles:
            lines += [
                "      - platform: mastodon",
                f'        handle: "@{handle}"',
                "        instance: social.example",
            ]
        else:
            lines += ["      - platform: bluesky", f"        handle: {handle}.bsky.social"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(accounts=50, weeks=26, until=FIRST_NIGHT, seed=0)


@pytest.fixture(scope="module")
def platforms(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    home = tmp_path_factory.mktemp("platforms")
    (home / "config").mkdir()
    (home / "config" / "accounts.yml").write_text(registry_yaml())
    # A short rate-limit window: the budgets are real, the waits short.
    with (
        MastodonServer(world, rate_limit=300, window_seconds=2) as mastodon,
        BlueskyServer(world, rate_limit=3000, window_seconds=2) as bluesky,
        rapport_environment(
            home, RAPPORT_MASTODON_BASE_URL=mastodon.url, RAPPORT_BLUESKY_BASE_URL=bluesky.url
        ),
    ):
        yield {"home": home, "mastodon": mastodon, "bluesky": bluesky}


def in_window(account: WorldAccount, since: datetime, until: datetime) -> tuple[int, int, bool]:
    """(statuses listed at or after since, own posts with replies in [since, until), older ones exist)."""
    listed = [post for post in account.timeline() if since <= post.created_at < until]
    threads = [post for post in account.threads() if since <= post.created_at < until]
    return len(listed), len(threads), any(post.created_at < since for post in account.timeline())


def mastodon_cost(statuses: int, threads: int, older_exist: bool) -> int:
    """The Mastodon README's formula: lookup + statuses pages + min(threads due, budget)."""
    return 1 + (statuses // 40 + 1) + min(threads, BUDGET)


def bluesky_cost(items: int, threads: int, older_exist: bool) -> int:
    """The Bluesky README's formula: resolveHandle + getProfile + feed pages + min(threads due, budget)
    (an upper bound: a reply of the account inside another of its threads is read with it)."""
    pages = math.ceil((items + 1) / 100) if older_exist else math.ceil(items / 100) + 1
    return 2 + pages + min(threads, BUDGET)


def backlog_after_first_night(account: WorldAccount) -> int:
    """The threads the first night's budget left for the ledger's backlog."""
    return max(
        len([post for post in account.threads() if post.created_at >= FIRST_NIGHT - timedelta(weeks=26)])
        - BUDGET,
        0,
    )


def per_account(requests: dict[str, int]) -> str:
    """Requests per account, in all and per platform: ``41.6 (mastodon 40.2, bluesky 43.0)``."""
    mastodon = [requests[handle] for handle in MASTODON_HANDLES]
    bluesky = [requests[handle] for handle in BLUESKY_HANDLES]
    return (
        f"{sum(requests.values()) / len(requests):.1f} (mastodon {sum(mastodon) / len(mastodon):.1f}, "
        f"bluesky {sum(bluesky) / len(bluesky):.1f})"
    )


def run_night(until: datetime) -> list[dict]:
    from rapport import pipeline

    extracted = [pipeline.extract_account(account_id, until) for account_id in pipeline.list_account_ids()]
    validated = pipeline.validate_run(until)
    assert validated["quarantined"] == []
    pipeline.load_run(until)
    pipeline.build_models()
    return extracted


def test_two_nights_for_50_accounts_cost_what_the_connectors_document(platforms: dict, world: World):
    mastodon, bluesky = platforms["mastodon"], platforms["bluesky"]
    first = run_night(FIRST_NIGHT)
    since = FIRST_NIGHT - timedelta(weeks=26)
    for handle in MASTODON_HANDLES:
        made = len(mastodon.requests_for(handle))
        assert made <= mastodon_cost(*in_window(world.accounts[handle], since, FIRST_NIGHT)) + len(
            [request for request in mastodon.requests_for(handle) if request.status == 429]
        ), handle
    for handle in BLUESKY_HANDLES:
        made = len(bluesky.requests_for(handle))
        assert made <= bluesky_cost(*in_window(world.accounts[handle], since, FIRST_NIGHT)), handle
    assert mastodon.ignored_rate_limits() == [] and bluesky.ignored_rate_limits() == []
    assert sum(summary["requests"] for summary in first) == len(mastodon.requests) + len(bluesky.requests)
    first_total = len(mastodon.requests) + len(bluesky.requests)
    first_requests = {handle: len(mastodon.requests_for(handle)) for handle in MASTODON_HANDLES}
    first_requests |= {handle: len(bluesky.requests_for(handle)) for handle in BLUESKY_HANDLES}

    mastodon.reset()
    bluesky.reset()
    run_night(SECOND_NIGHT)
    lookback = FIRST_NIGHT - timedelta(days=14)  # the watermark less the lookback window
    for handle in MASTODON_HANDLES:
        # The lookup, the lookback's statuses pages, and no thread that did not change (the first night read
        # the newest 40 at tonight's counts): only the backlog, within the budget.
        statuses, _, older_exist = in_window(world.accounts[handle], lookback, SECOND_NIGHT)
        due = backlog_after_first_night(world.accounts[handle])
        made = len(mastodon.requests_for(handle))
        assert made <= mastodon_cost(statuses, due, older_exist) + len(mastodon.rate_limited), handle
        assert len(mastodon.requests_for(handle, "context")) == min(due, BUDGET), handle
    for handle in BLUESKY_HANDLES:
        items, _, older_exist = in_window(world.accounts[handle], lookback, SECOND_NIGHT)
        due = backlog_after_first_night(world.accounts[handle])
        assert len(bluesky.requests_for(handle)) <= bluesky_cost(items, due, older_exist), handle
    second_total = len(mastodon.requests) + len(bluesky.requests)
    second_requests = {handle: len(mastodon.requests_for(handle)) for handle in MASTODON_HANDLES}
    second_requests |= {handle: len(bluesky.requests_for(handle)) for handle in BLUESKY_HANDLES}
    assert mastodon.ignored_rate_limits() == [] and bluesky.ignored_rate_limits() == []
    print(
        f"\nrequests: first night {first_total}, second night {second_total}, "
        f"429s received {len(mastodon.rate_limited) + len(bluesky.rate_limited)}"
        f"\nrequests per account per night: first night {per_account(first_requests)}, "
        f"second night {per_account(second_requests)}"
    )

    warehouse = platforms["home"] / "data" / "warehouse.duckdb"
    scored = query(
        warehouse, "select platform, count(distinct account_id) from marts.fct_relationship_scores group by 1"
    )
    assert dict(scored) == {"mastodon": 25, "bluesky": 25}


def test_an_account_the_server_keeps_failing_fails_alone_and_its_raw_answer_is_kept(platforms: dict):
    from rapport import pipeline
    from rapport.sources import SourceError

    third_night = SECOND_NIGHT + timedelta(days=1)
    platforms["mastodon"].failing.add("org002")
    try:
        with pytest.raises(SourceError) as failed:
            pipeline.extract_account("mastodon:@org002@social.example", third_night)
    finally:
        platforms["mastodon"].failing.discard("org002")
    message = str(failed.value)
    assert "@org002" in message and "503" in message and platforms["mastodon"].url in message
    landed = list(
        (platforms["home"] / "data" / "landing").glob(
            "platform=mastodon/account=org002_social.example/run_date=2026-11-25/extraction=*/manifest.json"
        )
    )
    assert len(landed) == 1 and '"status": "failed"' in landed[0].read_text()
    other = pipeline.extract_account("mastodon:@org003@social.example", third_night)
    assert other["pages"] >= 2


def test_the_nightly_dag_scores_a_mastodon_and_a_bluesky_account(world: World, tmp_path: Path):
    registry = (
        "organizations:\n"
        "  - {id: city-news, name: City News, peer_group: media, size_band: medium, language: en,\n"
        '     accounts: [{platform: mastodon, handle: "@org001", instance: social.example},\n'
        "                {platform: bluesky, handle: org026.bsky.social}]}\n"
    )
    (tmp_path / "rapport" / "config").mkdir(parents=True)
    (tmp_path / "rapport" / "config" / "accounts.yml").write_text(registry)
    with MastodonServer(world, rate_limit=300, window_seconds=2) as mastodon, BlueskyServer(world) as bluesky:
        environment = airflow_environment(
            tmp_path, RAPPORT_MASTODON_BASE_URL=mastodon.url, RAPPORT_BLUESKY_BASE_URL=bluesky.url
        )
        airflow(environment, "dags", "test", "rapport_nightly", FIRST_NIGHT.date().isoformat())
        assert mastodon.requests_for("org001") and bluesky.requests_for("org026")
    scores = query(
        tmp_path / "rapport" / "data" / "warehouse.duckdb",
        "select account_id, count(*), count(overall_score) from marts.fct_relationship_scores group by 1 order by 1",
    )
    assert [row[0] for row in scores] == ["bluesky:org026.bsky.social", "mastodon:@org001@social.example"]
    assert all(weeks == 26 and scored > 0 for _, weeks, scored in scores)
