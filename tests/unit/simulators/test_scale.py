"""Scale accounts of the demo platform: deterministic, window-consistent, valid, and as large as asked."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rapport.accounts import load_registry
from rapport.records import RECORD_TYPES
from rapport.simulators.scale import ScaleProfile, land_world, write_registry
from rapport.sources import Window, demo
from rapport.sources.payloads import records_frames
from rapport.validation.suites import conforms

UNTIL = datetime(2026, 11, 16, tzinfo=UTC)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    return load_registry(write_registry(tmp_path_factory.mktemp("scale") / "accounts.yml", 12))


def items(pages, endpoint: str) -> list[dict]:
    return [item for page in pages if page.endpoint == endpoint for item in json.loads(page.body)]


def test_the_registry_of_scale_organizations_is_a_valid_registry(registry):
    assert len(registry.accounts) == 12
    assert registry.accounts[0].account_id == "demo:@scale_000001"
    assert {organization.size_band for organization in registry.organizations} == {"small", "medium", "large"}


def test_the_same_window_gives_the_same_bytes(registry):
    account = registry.accounts[4]
    window = Window(UNTIL - timedelta(weeks=3), UNTIL)
    assert [page.body for page in demo.extract(account, window)] == [
        page.body for page in demo.extract(account, window)
    ]
    other_seed = [page.body for page in demo.extract(account, window, seed="another")]
    assert other_seed != [page.body for page in demo.extract(account, window)]


def test_a_narrower_window_sees_exactly_the_items_a_wider_one_has_in_it(registry):
    account = registry.accounts[2]
    wide = list(demo.extract(account, Window(UNTIL - timedelta(weeks=6), UNTIL)))
    since = UNTIL - timedelta(days=15)
    narrow = list(demo.extract(account, Window(since, UNTIL)))
    stamp = f"{since:%Y-%m-%dT%H:%M:%S}"
    for endpoint in ("accounts/statuses", "notifications"):
        expected = [item["id"] for item in items(wide, endpoint) if item["created_at"] >= stamp]
        assert [item["id"] for item in items(narrow, endpoint)] == expected
        assert expected  # not vacuous


def test_a_year_normalizes_into_valid_records_of_the_profile_s_size(registry):
    account = registry.accounts[0]
    pages = list(demo.extract(account, Window(UNTIL - timedelta(weeks=52), UNTIL)))
    frames = records_frames(demo.normalize(pages, account, UNTIL.replace(tzinfo=None)))
    for record_type in RECORD_TYPES:
        assert conforms(frames[record_type.name], record_type), record_type.name
    posts, interactions = frames["posts"], frames["interactions"]
    assert posts["post_id"].is_unique and interactions["interaction_id"].is_unique
    assert set(posts["post_type"]) == {"original", "reply", "repost", "quote"}
    assert set(interactions["interaction_type"]) == {"reply", "mention", "quote"}
    # Quotes are served in Mastodon's Quote shape, which the Mastodon reader the demo uses reads.
    assert posts.loc[posts["post_type"] == "quote", "reposted_post_id"].notna().all()
    assert interactions["is_question"].any() and (posts["media_with_alt_text_count"] > 0).any()
    # Answers reply to the public's questions: the trust indicator has something to measure.
    answered = set(posts["in_reply_to_post_id"].dropna()) & set(interactions["interaction_id"])
    assert len(answered) > 10
    profile = ScaleProfile()
    per_week = (len(posts) + len(interactions)) / 52
    low, high = (
        0.25 * (profile.posts_per_week + profile.public_posts_per_week),
        2.5 * (profile.posts_per_week + profile.public_posts_per_week),
    )
    assert low < per_week < high


def test_the_profile_reads_its_environment_variables():
    profile = ScaleProfile.from_environment({"RAPPORT_DEMO_SCALE_POSTS_PER_WEEK": "3", "OTHER": "x"})
    assert profile.posts_per_week == 3.0
    assert profile.public_posts_per_week == ScaleProfile().public_posts_per_week


def test_a_world_is_landed_as_the_extract_task_lands_it(registry, tmp_path: Path):
    from rapport.landing import find_extractions, read_extraction

    since = UNTIL - timedelta(weeks=2)
    counts = land_world(tmp_path, registry.accounts[:3], since, UNTIL, processes=2)
    extractions = [read_extraction(path) for path in find_extractions(tmp_path)]
    assert counts["extractions"] == len(extractions) == 3
    assert counts["pages"] == sum(len(extraction.pages) for extraction in extractions)
    for extraction in extractions:
        account = registry.account(extraction.account_id)
        assert extraction.is_complete and extraction.run_date == UNTIL.date()
        bodies = [page.body for page in extraction.read_pages()]
        assert bodies == [page.body for page in demo.extract(account, Window(since, UNTIL))]
