"""Organizations scored from the analytics exports they download, end to end.

A LinkedIn Page read from its page analytics export beside the organization's Mastodon account
(read from a local instance of the test world); a Facebook Page and an Instagram account from
their Meta Business Suite exports, an X account from its analytics export, a TikTok account from
its TikTok Studio downloads and a YouTube channel from its YouTube Studio export. The files are
built in the platforms' real shapes (tests/platforms/exports/) and dropped in the accounts'
inboxes; one night of the pipeline's steps (extract, validate, load, dbt build) imports and
scores them. Each format's availability table is honoured: the components it does not feed are
NULL with a note, never 0; a malformed file is quarantined with its line and reason while the
others load.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import query, rapport_environment
from tests.platforms.exports import linkedin, meta, tiktok, x, youtube_studio
from tests.platforms.mastodon_server import MastodonServer
from tests.platforms.world import World

pytestmark = pytest.mark.slow

NIGHT = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday: the weeks before it are complete
FIRST_DAY = date(2026, 9, 7)  # a Monday: twelve complete weeks to 2026-11-29
LAST_DAY = date(2026, 11, 29)
DAYS = [FIRST_DAY + timedelta(days=offset) for offset in range((LAST_DAY - FIRST_DAY).days + 1)]
LINKEDIN = "linkedin:city-library"
EXPORTED = {
    LINKEDIN: "linkedin_content",
    "facebook:citylibrary": "facebook_posts",
    "instagram:citylibrary": "instagram_posts",
    "x:@citylibrary": "x_tweet_activity",
    "tiktok:@citylibrary": "tiktok_content",
    "youtube:@citylibrary": "youtube_studio",
}
REGISTRY = """\
organizations:
  - id: city-library
    name: City Library
    peer_group: culture
    size_band: medium
    language: en
    accounts:
      - platform: mastodon
        handle: "@org001"
        instance: social.example
      - platform: linkedin
        handle: city-library
  - id: city-library-media
    name: City Library (media)
    peer_group: culture
    size_band: medium
    language: en
    accounts:
      - platform: facebook
        handle: citylibrary
        inbox: ../exports/facebook
      - platform: instagram
        handle: citylibrary
        inbox: ../exports/instagram
      - platform: x
        handle: "@citylibrary"
      - platform: tiktok
        handle: "@citylibrary"
      - platform: youtube
        handle: "@citylibrary"
        inbox: ../exports/youtube
"""
TEXTS = (
    "Our new reading room opens next month: here is the plan",
    "Thank you to every volunteer of the autumn book fair",
    "Join us on Saturday for the children's workshop",
)


def posting_days() -> list[datetime]:
    """Three posts a week, at 10:00, 14:00 and 17:30 UTC on Monday, Wednesday and Friday (naive)."""
    moments = []
    for day in DAYS:
        if day.weekday() in (0, 2, 4):
            hour, minute = {0: (10, 0), 2: (14, 0), 4: (17, 30)}[day.weekday()]
            moments.append(datetime(day.year, day.month, day.day, hour, minute))  # naive UTC
    return moments


def drop_files(home: Path) -> None:
    """Each account's exports, in its inbox, as the platform gives them."""
    moments = posting_days()

    def inbox(platform: str, slug: str) -> Path:
        folder = home / "data" / "inbox" / f"platform={platform}" / f"account={slug}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    posts = [
        linkedin.LinkedInPost(
            TEXTS[n % 3],
            moment.date(),
            likes=20 + n,
            comments=n % 4,
            reposts=n % 3,
            activity=7_390_000_000_000_000_000 + n,
        )
        for n, moment in enumerate(moments)
    ]
    folder = inbox("linkedin", "city-library")
    (folder / linkedin.file_name("city-library", "content")).write_bytes(
        linkedin.content_workbook(posts, DAYS)
    )
    # A second download, damaged in Excel: its line 9 holds no date. Quarantined alone.
    (folder / linkedin.file_name("city-library", "followers", stamp=1_764_460_900_000)).write_bytes(
        _broken_followers()
    )

    meta_posts = [
        meta.MetaPost(
            f"1048573920182_{n}",
            moment,
            text=TEXTS[n % 3],
            likes=30 + n,
            comments=n % 5,
            shares=1,
        )
        for n, moment in enumerate(moments)
    ]
    facebook = home / "exports" / "facebook"
    facebook.mkdir(parents=True)
    (facebook / meta.posts_file_name(FIRST_DAY, LAST_DAY)).write_bytes(meta.facebook_posts_csv(meta_posts))
    instagram = home / "exports" / "instagram"
    instagram.mkdir(parents=True)
    instagram_posts = [
        meta.MetaPost(f"17900000000{n:04d}", moment, text=TEXTS[n % 3] + " @citymuseum", likes=50)
        for n, moment in enumerate(moments)
    ]
    (instagram / meta.posts_file_name(FIRST_DAY, LAST_DAY)).write_bytes(
        meta.instagram_posts_csv(instagram_posts)
    )
    (instagram / "Instagram followers.csv").write_bytes(
        meta.daily_csv("Instagram followers", [(day, 1200 + n) for n, day in enumerate(DAYS)])
    )

    x_posts = [
        x.XPost(TEXTS[n % 3] + (" with @citymuseum" if n % 2 else ""), moment, likes=5, replies=1, reposts=2)
        for n, moment in enumerate(moments)
    ]
    name, data = x.tweet_activity_csv("citylibrary", x_posts, FIRST_DAY, LAST_DAY)
    (inbox("x", "citylibrary") / name).write_bytes(data)

    videos = [
        tiktok.TikTokVideo(TEXTS[n % 3], moment, likes=100, comments=4) for n, moment in enumerate(moments)
    ]
    folder = inbox("tiktok", "citylibrary")
    name, data = tiktok.content_file("citylibrary", videos, LAST_DAY)
    (folder / name).write_bytes(data)
    name, data = tiktok.followers_file("citylibrary", [(day, 800 + n) for n, day in enumerate(DAYS)])
    (folder / name).write_bytes(data)

    studio_videos = [
        youtube_studio.Video(f"vid{n:08d}", TEXTS[n % 3], moment.date()) for n, moment in enumerate(moments)
    ]
    youtube = home / "exports" / "youtube"
    youtube.mkdir(parents=True)
    (youtube / youtube_studio.studio_zip_name(FIRST_DAY, LAST_DAY)).write_bytes(
        youtube_studio.studio_zip(studio_videos, [(day, 40) for day in DAYS])
    )


def _broken_followers() -> bytes:
    """A followers export whose 9th line, edited in Excel, holds no date."""
    sheets = linkedin.followers_sheets([(day, 3) for day in DAYS[:20]])
    rows = sheets["New followers"]
    rows[8] = ["someday", *rows[8][1:]]
    return linkedin.workbook(sheets, kind="xls")


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from rapport import pipeline

    world = World.generate(accounts=1, weeks=12, until=NIGHT, seed=5)
    home = tmp_path_factory.mktemp("exports")
    (home / "config").mkdir()
    (home / "config" / "accounts.yml").write_text(REGISTRY)
    drop_files(home)
    with (
        MastodonServer(world, rate_limit=300, window_seconds=2) as mastodon,
        rapport_environment(home, RAPPORT_MASTODON_BASE_URL=mastodon.url),
    ):
        extracted = [
            pipeline.extract_account(account_id, NIGHT) for account_id in pipeline.list_account_ids()
        ]
        validated = pipeline.validate_run(NIGHT)
        loaded = pipeline.load_run(NIGHT)
        pipeline.build_models()
        yield {"home": home, "extracted": extracted, "validated": validated, "loaded": loaded}


def warehouse(night: dict) -> Path:
    return night["home"] / "data" / "warehouse.duckdb"


def test_every_export_is_imported_and_the_malformed_one_is_quarantined_with_its_line(night: dict):
    imported = {
        summary["account_id"]: [file["format"] for file in summary["files"]]
        for summary in night["extracted"]
        if "files" in summary
    }
    for account_id, export_format in EXPORTED.items():
        assert export_format in imported[account_id], (account_id, imported)
    assert night["validated"]["quarantined"] == [LINKEDIN]
    [result] = (night["home"] / "data" / "quarantine").glob(
        "run_date=2026-11-30/extraction=*/validation.json"
    )
    assert "city-library_followers_1764460900000.xls, sheet 'New followers', line 9" in result.read_text()
    files = dict(query(warehouse(night), "select account_id, count(*) from raw.export_files group by 1"))
    assert files == {
        LINKEDIN: 1,
        "facebook:citylibrary": 1,
        "instagram:citylibrary": 2,
        "x:@citylibrary": 1,
        "tiktok:@citylibrary": 2,
        "youtube:@citylibrary": 1,
    }


def test_the_linkedin_page_is_scored_from_its_export_beside_the_mastodon_account(night: dict):
    scored = query(
        warehouse(night),
        "select platform, count(*), count(overall_score), count(openness_score), count(investment_score) "
        "from marts.fct_relationship_scores where organization_id = 'city-library' "
        "and week_start_date between '2026-09-07' and '2026-11-23' group by 1 order by 1",
    )
    assert [platform for platform, *_ in scored] == ["linkedin", "mastodon"]
    for platform, weeks, overall, openness, investment in scored:
        assert weeks == 12 and overall == 12 and openness == 12 and investment == 12, platform


def test_each_exports_weeks_leave_out_what_it_does_not_show_with_a_note(night: dict):
    for account_id in EXPORTED:
        rows = query(
            warehouse(night),
            "select trust_score, score_notes, coverage_notes, shrunk_dialogue_share, "
            "shrunk_accessibility_share, overall_score, actions "
            "from marts.fct_relationship_scores where account_id = ? "
            "and week_start_date between '2026-09-07' and '2026-11-23'",
            [account_id],
        )
        assert len(rows) == 12, account_id
        for trust, notes, coverage, dialogue, accessibility, overall, actions in rows:
            assert actions == 3, account_id
            # No export holds the comments: trust is not scored, and says why.
            assert trust is None and "holds no comments" in notes, (account_id, notes)
            # Replies and alt text are not in any export: left out, named, never 0.
            assert dialogue is None and accessibility is None, account_id
            assert "dialogue share" in coverage and "alt text" in coverage, (account_id, coverage)
            assert overall is not None, account_id


def test_the_followers_an_export_gives_by_day_are_the_accounts_snapshots(night: dict):
    followers = dict(
        query(
            warehouse(night),
            "select account_id, max(followers_count) from marts.fct_account_weekly_metrics "
            "where week_start_date = '2026-11-23' group by 1",
        )
    )
    assert followers["instagram:citylibrary"] == 1200 + len(DAYS) - 1
    assert followers["tiktok:@citylibrary"] == 800 + len(DAYS) - 1
    # LinkedIn, X, Facebook's posts export and YouTube Studio give no follower count: NULL, not 0.
    for account_id in (LINKEDIN, "x:@citylibrary", "facebook:citylibrary", "youtube:@citylibrary"):
        assert followers[account_id] is None, account_id
