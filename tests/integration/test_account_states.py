"""A suspended Mastodon account end to end: the real connector against a local instance, the pipeline, dbt.

Issue 15: since Mastodon 3.3 a suspended account answers its lookup 200 with
``"suspended": true`` and 0 for every count. Read as a live account, that was
a collapse of its followers. Here two organizations are backfilled on the
first night; the instance then suspends one, and the two nightly runs after
see it suspended: its later weeks carry the state, with NULL followers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import query, rapport_environment
from tests.integration.test_real_platforms import registry_yaml
from tests.platforms.mastodon_server import MastodonServer
from tests.platforms.world import World

pytestmark = pytest.mark.slow

FIRST_NIGHT = datetime(2026, 11, 23, tzinfo=UTC)
HANDLES = ("org001", "org002")
SUSPENDED = "mastodon:@org002@social.example"


def run_night(until: datetime) -> list[dict]:
    from rapport import pipeline

    extracted = [pipeline.extract_account(account_id, until) for account_id in pipeline.list_account_ids()]
    assert pipeline.validate_run(until)["quarantined"] == []
    pipeline.load_run(until)
    pipeline.build_models()
    return extracted


@pytest.fixture(scope="module")
def suspended_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, MastodonServer]]:
    world = World.generate(accounts=2, weeks=8, until=FIRST_NIGHT, seed=3)
    home = tmp_path_factory.mktemp("suspended")
    (home / "config").mkdir()
    (home / "config" / "accounts.yml").write_text(registry_yaml(list(HANDLES), []))
    with (
        MastodonServer(world, rate_limit=300, window_seconds=2) as mastodon,
        rapport_environment(home, RAPPORT_MASTODON_BASE_URL=mastodon.url),
    ):
        run_night(FIRST_NIGHT)
        mastodon.suspended.add("org002")
        mastodon.reset()
        for night in (FIRST_NIGHT + timedelta(days=7), FIRST_NIGHT + timedelta(days=14)):
            extracted = run_night(night)
            assert all(summary["pages"] >= 1 for summary in extracted), extracted
        yield home, mastodon


def test_a_suspended_accounts_later_weeks_carry_state_suspended_and_null_followers_not_zero(
    suspended_home: tuple[Path, MastodonServer],
):
    home, _ = suspended_home
    warehouse = home / "data" / "warehouse.duckdb"
    weeks = query(
        warehouse,
        "select week_start_date, account_state, followers_count, followers_change "
        "from marts.fct_account_weekly_metrics where account_id = ? order by week_start_date",
        [SUSPENDED],
    )
    by_week = {str(week): (state, followers, change) for week, state, followers, change in weeks}
    assert by_week["2026-11-16"][0] == "active" and by_week["2026-11-16"][1] > 0
    for week in ("2026-11-23", "2026-11-30"):
        assert by_week[week] == ("suspended", None, None), week
    assert all(followers != 0 for _, followers, _ in by_week.values())
    other = query(
        warehouse,
        # Weeks before an account's first snapshot have no observed state (NULL), as their counts.
        "select distinct account_state from marts.fct_account_weekly_metrics "
        "where account_id <> ? and account_state is not null",
        [SUSPENDED],
    )
    assert other == [("active",)]


def test_a_suspended_accounts_weeks_get_no_score_and_a_note_naming_the_state_not_zeros(suspended_home):
    home, _ = suspended_home
    weeks = query(
        home / "data" / "warehouse.duckdb",
        "select week_start_date, trust_score, openness_score, involvement_score, investment_score, "
        "commitment_score, overall_score, score_notes from marts.fct_relationship_scores "
        "where account_id = ? order by week_start_date",
        [SUSPENDED],
    )
    by_week = {str(week): rest for week, *rest in weeks}
    assert by_week["2026-11-16"][3] is not None  # investment: a live week is scored
    for week in ("2026-11-23", "2026-11-30"):
        assert by_week[week] == [None] * 6 + ["account: suspended on the platform"], week


def test_the_dimension_names_the_state_and_when_it_was_first_observed(suspended_home):
    home, _ = suspended_home
    assert query(
        home / "data" / "warehouse.duckdb",
        "select account_state, state_observed_since, followers_count from marts.dim_accounts where account_id = ?",
        [SUSPENDED],
    ) == [("suspended", datetime(2026, 11, 30), None)]


def test_a_suspended_account_costs_one_lookup_a_night(suspended_home):
    _, mastodon = suspended_home
    assert [request.endpoint for request in mastodon.requests_for("org002")] == ["lookup", "lookup"]


def test_the_run_summary_lists_the_suspended_account_apart_from_the_scores(suspended_home):
    from rapport import pipeline

    text = pipeline.summarize_run(FIRST_NIGHT + timedelta(days=14))
    assert f"Accounts not active:\n- {SUSPENDED}: suspended on social.example since 2026-11-30" in text
