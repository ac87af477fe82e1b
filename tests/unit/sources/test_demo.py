"""The demo platform: a deterministic simulated source, and its normalization into records."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rapport.accounts import Account, load_registry
from rapport.records import RECORD_TYPES
from rapport.simulators.demo_archetypes import ARCHETYPES, DEMO_START
from rapport.simulators.demo_world import PAGE_SIZE
from rapport.sources import NormalizationError, Page, SourceError, Window, demo
from rapport.sources.payloads import contains_question, html_to_text, read_html, records_frames

PROJECT_ROOT = Path(__file__).resolve().parents[3]
UNTIL = datetime(2026, 11, 23, tzinfo=UTC)
SINCE = UNTIL - timedelta(weeks=26)
WEEKS = 26
OBSERVED_AT = datetime(2026, 11, 23)
EXPECTED_DTYPES = {
    "VARCHAR": "str",
    "BIGINT": "int64",
    "INTEGER": "int64",
    "BOOLEAN": "bool",
    "TIMESTAMP": "datetime64[us]",
}
PLAN_KEYWORDS = (
    "we are planning",
    "our plans",
    "roadmap",
    "coming soon",
    "behind the scenes",
    "we will",
    "next month",
    "update on",
    "nous préparons",
    "notre projet",
    "nos projets",
    "prochainement",
    "en coulisses",
    "nous allons",
    "feuille de route",
    "le mois prochain",
)
PROMO_KEYWORDS = (
    "buy",
    "offer",
    "discount",
    "sale",
    "promo",
    "deal",
    "shop now",
    "achetez",
    "offre",
    "soldes",
    "réduction",
    "profitez",
)
EXPECTED_EFFORT = {"small": 3, "medium": 7, "large": 15}


def account(name: str) -> Account:
    return Account(organization_id=name.replace("_", "-"), platform="demo", handle=f"@{name}")


def fetch(name: str, since: datetime, until: datetime, **kwargs: Any) -> list[Page]:
    return list(demo.extract(account(name), Window(since, until), **kwargs))


def items(pages: list[Page], endpoint: str) -> list[dict[str, Any]]:
    return [item for page in pages if page.endpoint == endpoint for item in json.loads(page.body)]


@pytest.fixture(scope="module")
def world() -> dict[str, tuple[list[Page], dict[str, pd.DataFrame]]]:
    """All eight accounts over the demo's 26 weeks: pages and normalized frames."""
    result = {}
    for name in ARCHETYPES:
        pages = fetch(name, SINCE, UNTIL)
        result[name] = (pages, records_frames(demo.normalize(pages, account(name), OBSERVED_AT)))
    return result


def frames_of(world: dict[str, Any], name: str) -> dict[str, pd.DataFrame]:
    return world[name][1]


def week_index(moments: pd.Series) -> pd.Series:
    return (moments - pd.Timestamp("2026-05-25")).dt.days // 7


def has_keyword(text: Any, keywords: tuple[str, ...]) -> bool:
    return isinstance(text, str) and any(keyword in text.lower() for keyword in keywords)


def answered(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The org's replies to the public's questions, with the question's time."""
    questions = frames["interactions"][frames["interactions"].is_question]
    return frames["posts"].merge(
        questions[["interaction_id", "created_at"]],
        left_on="in_reply_to_post_id",
        right_on="interaction_id",
        suffixes=("", "_question"),
    )


# --------------------------------------------------------------------------- determinism and windows


def test_extract_is_byte_identical_when_the_same_window_is_fetched_twice():
    first = fetch("riviere_transit", SINCE, SINCE + timedelta(weeks=3))
    second = fetch("riviere_transit", SINCE, SINCE + timedelta(weeks=3))
    assert len(first) > 3
    assert [(page.endpoint, page.params, page.body) for page in first] == [
        (page.endpoint, page.params, page.body) for page in second
    ]


def test_extract_is_byte_identical_in_another_process_with_another_hash_seed():
    script = (
        "import hashlib; from datetime import datetime, UTC;"
        "from rapport.accounts import Account; from rapport.sources import Window;"
        "from rapport.sources import demo;"
        "pages = demo.extract(Account('m', 'demo', '@maison_quartiers'),"
        " Window(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 15, tzinfo=UTC)));"
        "print(hashlib.sha256(b''.join(page.body for page in pages)).hexdigest())"
    )
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    environment.pop("RAPPORT_DEMO_SEED", None)
    output = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, check=True
    )
    here = fetch("maison_quartiers", datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 15, tzinfo=UTC))
    assert output.stdout.strip() == hashlib.sha256(b"".join(page.body for page in here)).hexdigest()


def test_another_seed_gives_another_world_and_the_environment_variable_sets_it(monkeypatch):
    window = (SINCE, SINCE + timedelta(weeks=2))
    default = fetch("riviere_transit", *window)
    other = fetch("riviere_transit", *window, seed="another")
    monkeypatch.setenv("RAPPORT_DEMO_SEED", "another")
    from_environment = fetch("riviere_transit", *window)
    assert [page.body for page in other] != [page.body for page in default]
    assert [page.body for page in from_environment] == [page.body for page in other]


def test_extract_yields_no_item_created_at_or_after_until():
    until = datetime(2026, 9, 9, 13, 37, tzinfo=UTC)
    pages = fetch("riviere_transit", until - timedelta(days=10), until)
    statuses = items(pages, "accounts/statuses")
    mentions = [item["status"] for item in items(pages, "notifications")]
    created = [datetime.fromisoformat(item["created_at"]) for item in statuses + mentions]
    assert len(created) > 30
    assert max(created) < until
    assert min(created) >= until - timedelta(days=10)


def test_items_fetched_in_overlapping_windows_keep_their_ids_texts_and_timestamps():
    first = fetch("open_city_lab", datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC))
    second = fetch("open_city_lab", datetime(2026, 7, 15, tzinfo=UTC), datetime(2026, 8, 15, tzinfo=UTC))
    overlap_start = datetime(2026, 7, 15, tzinfo=UTC)

    def in_overlap(pages: list[Page]) -> set[tuple[str, str, str]]:
        kept = set()
        for status in items(pages, "accounts/statuses") + [
            n["status"] for n in items(pages, "notifications")
        ]:
            created = datetime.fromisoformat(status["created_at"])
            if overlap_start <= created < datetime(2026, 8, 1, tzinfo=UTC):
                kept.add((status["id"], status["created_at"], status["content"]))
        return kept

    shared = in_overlap(first)
    assert len(shared) > 20
    assert shared == in_overlap(second)


def test_nothing_exists_on_the_platform_before_demo_start():
    pages = fetch("riviere_transit", DEMO_START - timedelta(weeks=4), DEMO_START)
    assert items(pages, "accounts/statuses") == []
    assert items(pages, "notifications") == []


def test_status_ids_are_unique_across_all_accounts(world):
    ids = [post_id for name in ARCHETYPES for post_id in frames_of(world, name)["posts"].post_id]
    ids += [item for name in ARCHETYPES for item in frames_of(world, name)["interactions"].interaction_id]
    assert len(ids) > 3000
    assert len(ids) == len(set(ids))


# --------------------------------------------------------------------------- paging and pages


def test_statuses_and_notifications_come_forty_a_page_newest_first(world):
    pages = world["riviere_transit"][0]
    for endpoint in ("accounts/statuses", "notifications"):
        listing = [page for page in pages if page.endpoint == endpoint]
        sizes = [len(json.loads(page.body)) for page in listing]
        assert len(listing) > 2
        assert [page.params["page"] for page in listing] == [str(n) for n in range(1, len(listing) + 1)]
        assert set(sizes[:-1]) == {PAGE_SIZE}
        assert 0 < sizes[-1] <= PAGE_SIZE
        times = [item["created_at"] for item in items(listing, endpoint)]
        assert times == sorted(times, reverse=True)


def test_an_empty_window_yields_one_empty_page_per_listing():
    pages = fetch("festival_lumiere", datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
    assert [(page.endpoint, page.body) for page in pages[1:]] == [
        ("accounts/statuses", b"[]"),
        ("notifications", b"[]"),
    ]
    silent = fetch("festival_lumiere", datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
    assert [page.body for page in silent if page.endpoint == "accounts/statuses"] == [b"[]"]


def test_pages_name_their_endpoint_and_request_parameters():
    since, until = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 8, tzinfo=UTC)
    pages = fetch("petit_theatre", since, until)
    lookup, statuses, notifications = pages
    assert (lookup.endpoint, lookup.params, lookup.status) == (
        "accounts/lookup",
        {"acct": "@petit_theatre"},
        200,
    )
    window = {"since": since.isoformat(), "until": until.isoformat(), "page": "1"}
    assert (statuses.endpoint, statuses.params) == ("accounts/statuses", window)
    assert (notifications.endpoint, notifications.params) == ("notifications", {"types": "mention", **window})
    assert json.loads(lookup.body)["acct"] == "petit_theatre"


def test_a_nightly_window_lists_statuses_from_its_start_and_the_publics_posts_from_the_watermark():
    since, watermark, until = (datetime(2026, 6, day, tzinfo=UTC) for day in (1, 14, 15))
    whole = fetch("riviere_transit", since, until)
    pages = list(demo.extract(account("riviere_transit"), Window(since, until, replies_since=watermark)))

    # The statuses are listed over the whole window, to refresh their counts ...
    assert items(pages, "accounts/statuses") == items(whole, "accounts/statuses")
    # ... the public's posts only from the watermark: earlier runs read those before it.
    later = [
        item for item in items(whole, "notifications") if item["created_at"] >= watermark.isoformat()[:19]
    ]
    assert 0 < len(items(pages, "notifications")) == len(later) < len(items(whole, "notifications"))
    first = next(page for page in pages if page.endpoint == "notifications")
    assert first.params["since"] == watermark.isoformat()


def test_the_lookup_describes_the_account_at_the_end_of_the_window(world):
    snapshot = frames_of(world, "riviere_transit")["account_snapshots"]
    row = snapshot.iloc[0]
    assert len(snapshot) == 1
    assert (row.handle, row.display_name) == ("@riviere_transit", "Rivière Transit")
    assert row.account_created_at == pd.Timestamp("2017-03-14")
    posts_since_start = len(frames_of(world, "riviere_transit")["posts"])
    assert row.posts_count == ARCHETYPES["riviere_transit"].statuses_before_start + posts_since_start


def test_followers_grow_along_each_archetypes_curve():
    def followers(name: str, until: datetime) -> int:
        return json.loads(fetch(name, until - timedelta(hours=1), until)[0].body)["followers_count"]

    riviere = [followers("riviere_transit", DEMO_START + timedelta(weeks=week)) for week in (1, 10, 26)]
    festival = [followers("festival_lumiere", DEMO_START + timedelta(weeks=week)) for week in (5, 11, 26)]
    assert riviere[0] < riviere[1] < riviere[2]
    assert riviere[0] > 10_000
    assert festival[1] - festival[0] > 1000  # the burst brings followers
    assert festival[2] < festival[1]  # silence loses a few
    assert followers("petit_theatre", UNTIL) < 1000


# --------------------------------------------------------------------------- normalization


@pytest.mark.parametrize("record_type", RECORD_TYPES, ids=lambda record_type: record_type.name)
def test_normalize_returns_exactly_the_record_columns_in_order_with_their_dtypes(world, record_type):
    empty = fetch("festival_lumiere", datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
    empty_frames = records_frames(demo.normalize(empty, account("festival_lumiere"), OBSERVED_AT))
    for frames in (frames_of(world, "maison_quartiers"), empty_frames):
        frame = frames[record_type.name]
        assert list(frame.columns) == record_type.column_names
        assert {column.name: str(frame[column.name].dtype) for column in record_type.columns} == {
            # A count that is NULL for an account no longer active holds NULL as pandas' Int64.
            column.name: "Int64"
            if column.nullable and column.sql_type == "BIGINT"
            else EXPECTED_DTYPES[column.sql_type]
            for column in record_type.columns
        }
    assert set(empty_frames) == {"account_snapshots", "posts", "interactions", "thread_reads", "export_files"}
    assert len(empty_frames["posts"]) == 0


def test_frames_keep_the_record_contract_the_validation_checks(world):
    for name in ARCHETYPES:
        frames = frames_of(world, name)
        for record_type in RECORD_TYPES:
            frame = frames[record_type.name]
            assert not frame[record_type.required_columns].isna().any().any(), (name, record_type.name)
        posts = frames["posts"]
        assert (posts.created_at < OBSERVED_AT).all()
        assert (posts.media_with_alt_text_count <= posts.media_count).all()
        assert posts.loc[posts.post_type != "reply", "in_reply_to_post_id"].isna().all()
        assert posts.loc[posts.post_type == "repost", "reposted_post_id"].notna().all()
        interactions = frames["interactions"]
        assert interactions.loc[interactions.interaction_type == "reply", "in_reply_to_post_id"].notna().all()


def test_normalize_stamps_every_row_with_the_account_id_and_naive_utc_observed_at():
    pages = fetch("riviere_transit", datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 15, tzinfo=UTC))
    paris = timezone(timedelta(hours=2))
    frames = records_frames(
        demo.normalize(pages, account("riviere_transit"), datetime(2026, 6, 15, 2, 0, tzinfo=paris))
    )
    del frames["export_files"]  # the demo imports no file
    for frame in frames.values():
        assert len(frame) > 0
        assert set(frame.account_id) == {"demo:@riviere_transit"}
        assert set(frame.observed_at) == {pd.Timestamp("2026-06-15 00:00")}
        assert set(frame.platform) == {"demo"}


def test_the_demo_serves_quotes_in_mastodons_quote_shape_for_its_posts_and_its_publics():
    pages = fetch("maison_quartiers", SINCE, UNTIL)
    quotes = [status["quote"] for status in items(pages, "accounts/statuses") if status["quote"]]
    quotes += [
        notification["status"]["quote"]
        for notification in items(pages, "notifications")
        if notification["status"]["quote"]
    ]
    assert len(quotes) > 10
    assert {quote["state"] for quote in quotes} == {"accepted"}
    assert all(set(quote["quoted_status"]) == {"id", "account"} for quote in quotes)


def test_the_demo_reads_its_statuses_with_the_mastodon_reader_content_warning_and_quote_fallback_included():
    quoted = {"id": "9", "account": {"id": "555", "acct": "lea_m"}}
    fallback = '<p class="quote-inline">RE: <a href="https://example.social/@lea_m/9">example.social/@lea_m/9</a></p>'
    statuses = [
        status(id="1", spoiler_text="Spoiler", content="<p>Fin de saison</p>"),
        status(
            id="2",
            content=f"{fallback}<p>Bravo !</p>",
            quote={"state": "accepted", "quoted_status": quoted},
        ),
    ]
    posts = normalize_by_hand(statuses)["posts"].set_index("post_id")
    assert posts.text.to_dict() == {"1": "Spoiler\n\nFin de saison", "2": "Bravo !"}
    assert (posts.post_type["2"], posts.reposted_post_id["2"], posts.link_count["2"]) == ("quote", "9", 0)
    assert posts.reposted_account_native_id["2"] == "555"


def test_post_types_follow_the_reblog_quote_and_reply_fields(world):
    posts = frames_of(world, "maison_quartiers")["posts"]
    by_type = {
        post_type: posts[posts.post_type == post_type]
        for post_type in ("original", "reply", "repost", "quote")
    }
    assert all(len(frame) > 10 for frame in by_type.values())
    assert by_type["repost"].text.isna().all()
    assert by_type["repost"].language.isna().all()
    assert by_type["repost"].reposted_account_native_id.notna().all()
    assert by_type["quote"].reposted_post_id.notna().all() and by_type["quote"].text.notna().all()
    assert by_type["reply"].in_reply_to_account_native_id.notna().all()
    assert by_type["original"][["in_reply_to_post_id", "reposted_post_id"]].isna().all().all()


def test_threads_are_replies_to_self_and_replies_on_partners_posts_are_not(world):
    riviere = frames_of(world, "riviere_transit")["posts"]
    threads = riviere[riviere.is_reply_to_self]
    own_id = frames_of(world, "riviere_transit")["account_snapshots"].account_native_id[0]
    assert len(threads) > 10
    assert (threads.in_reply_to_account_native_id == own_id).all()
    assert threads.in_reply_to_post_id.isin(riviere.post_id).mean() > 0.9  # the thread's head is its own post

    maison = frames_of(world, "maison_quartiers")
    replies = maison["posts"][maison["posts"].post_type == "reply"]
    on_partners = replies[~replies.in_reply_to_post_id.isin(maison["interactions"].interaction_id)]
    assert len(on_partners) > 20
    assert not on_partners.is_reply_to_self.any()
    assert (on_partners.mention_count >= 1).all()


def status(**overrides: Any) -> dict[str, Any]:
    """A minimal valid status of @petit_theatre, as the statuses endpoint gives it."""
    return {
        "id": "1",
        "created_at": "2026-06-02T10:00:00.000Z",
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "language": "fr",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "content": "<p>Bonsoir</p>",
        "reblog": None,
        "quote": None,
        "media_attachments": [],
        "mentions": [],
    } | overrides


def notification(**overrides: Any) -> dict[str, Any]:
    """A minimal valid mention notification addressed to @petit_theatre."""
    return {
        "id": "n1",
        "type": "mention",
        "created_at": "2026-06-02T11:00:00.000Z",
        "status": {
            "id": "p1",
            "created_at": "2026-06-02T11:00:00.000Z",
            "account": {"id": "555", "acct": "lea_m"},
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "content": "<p>Bravo</p>",
            "language": "fr",
            "quote": None,
        }
        | overrides,
    }


def lookup_page(native_id: str = "100") -> Page:
    body = {
        "id": native_id,
        "username": "petit_theatre",
        "acct": "petit_theatre",
        "display_name": "Le Petit Théâtre",
        "created_at": "2019-11-05T00:00:00.000Z",
        "followers_count": 700,
        "following_count": 150,
        "statuses_count": 900,
    }
    return Page("accounts/lookup", json.dumps(body).encode(), params={"acct": "@petit_theatre"})


def listing_page(endpoint: str, entries: list[dict[str, Any]], number: int = 1) -> Page:
    return Page(endpoint, json.dumps(entries).encode(), params={"page": str(number)})


def normalize_by_hand(statuses: list[dict[str, Any]] = (), notifications: list[dict[str, Any]] = ()):
    pages = [
        lookup_page(),
        listing_page("accounts/statuses", list(statuses)),
        listing_page("notifications", list(notifications)),
    ]
    return records_frames(demo.normalize(pages, account("petit_theatre"), OBSERVED_AT))


def test_alt_text_counts_only_non_empty_descriptions():
    media = [
        {"id": "m1", "type": "image", "description": "Deux comédiens sur scène"},
        {"id": "m2", "type": "image", "description": ""},
        {"id": "m3", "type": "image", "description": None},
        {"id": "m4", "type": "image", "description": "   "},
        {"id": "m5", "type": "image"},
    ]
    posts = normalize_by_hand([status(media_attachments=media)])["posts"]
    assert (posts.media_count[0], posts.media_with_alt_text_count[0]) == (5, 1)


def test_html_to_text_unescapes_entities_and_keeps_escaped_script_as_text():
    content = (
        "<p>Caf&eacute; &amp; th&#233;&nbsp;: &lt;script&gt;alert(1)&lt;/script&gt; "
        "&#x1F3AD; &quot;ok&quot;</p>"
    )
    assert html_to_text(content) == 'Café & thé\xa0: <script>alert(1)</script> 🎭 "ok"'


def test_html_to_text_separates_paragraphs_and_lines_and_drops_script_elements():
    content = "<p>Un<br>deux<br />trois</p><p>Quatre   \n cinq<script>alert(1)</script></p><style>p{}</style>"
    assert html_to_text(content) == "Un\ndeux\ntrois\n\nQuatre cinq"
    assert html_to_text("<p>unclosed <b>tags &amp; <i>all") == "unclosed tags & all"


def test_link_count_counts_links_but_not_mentions_or_hashtags():
    content = (
        '<p><span class="h-card"><a href="https://demo.rapport.invalid/@lea_m" class="u-url mention">'
        '@<span>lea_m</span></a></span> voir <a href="https://example.org/a?b=1&amp;c=2" rel="nofollow">'
        '<span class="invisible">https://</span><span>example.org/a?b=1&amp;c=2</span></a> '
        '<a href="https://demo.rapport.invalid/tags/theatre" class="mention hashtag" rel="tag">'
        "#<span>theatre</span></a> "
        '<a href="https://petit-theatre.example/agenda">agenda</a></p>'
    )
    assert read_html(content).links == (
        "https://example.org/a?b=1&c=2",
        "https://petit-theatre.example/agenda",
    )
    mention = [{"id": "555", "acct": "lea_m"}]
    posts = normalize_by_hand([status(content=content, mentions=mention)])["posts"]
    assert (posts.link_count[0], posts.mention_count[0]) == (2, 1)
    assert posts.text[0] == "@lea_m voir https://example.org/a?b=1&c=2 #theatre agenda"


def test_a_question_answered_by_the_org_yields_an_interaction_and_a_later_reply_to_it(world):
    frames = frames_of(world, "riviere_transit")
    answers = answered(frames)
    assert len(answers) > 200
    assert (answers.post_type == "reply").all()
    assert (answers.created_at > answers.created_at_question).all()
    assert not answers.is_reply_to_self.any()
    question = frames["interactions"].set_index("interaction_id").loc[answers.in_reply_to_post_id.iloc[0]]
    assert question.is_question
    assert answers.in_reply_to_account_native_id.iloc[0] == question.author_native_id


def test_public_replies_mentions_and_quotes_become_interactions_of_their_type():
    own = {"in_reply_to_id": "1", "in_reply_to_account_id": "100"}
    someone_elses_thread = {"in_reply_to_id": "77", "in_reply_to_account_id": "999"}
    quoted = {"id": "1", "account": {"id": "100", "acct": "petit_theatre"}}
    quote = {"quote": {"state": "accepted", "quoted_status": quoted}}
    entries = [
        notification(id="p1", **own),
        notification(id="p2"),
        notification(id="p3", **quote),
        notification(id="p4", **someone_elses_thread),
    ]
    entries = [entry | {"id": f"n{index}"} for index, entry in enumerate(entries)]
    entries.append({"id": "f1", "type": "favourite", "created_at": "2026-06-02T11:00:00.000Z"})
    interactions = normalize_by_hand(notifications=entries)["interactions"].set_index("interaction_id")
    assert interactions.interaction_type.to_dict() == {
        "p1": "reply",
        "p2": "mention",
        "p3": "quote",
        "p4": "mention",
    }
    assert interactions.in_reply_to_post_id.isna().to_dict() == {
        "p1": False,
        "p2": True,
        "p3": True,
        "p4": True,
    }
    assert interactions.author_handle.unique().tolist() == ["@lea_m"]


def test_demo_public_posts_of_every_type_reach_the_accounts(world):
    interactions = frames_of(world, "riviere_transit")["interactions"]
    posts = frames_of(world, "riviere_transit")["posts"]
    counts = interactions.interaction_type.value_counts()
    assert counts["reply"] > 100 and counts["mention"] > 100 and counts["quote"] > 5
    replies = interactions[interactions.interaction_type == "reply"]
    assert replies.in_reply_to_post_id.isin(posts.post_id).mean() > 0.95
    assert set(interactions.language) == {"fr", "en"}


def test_is_question_looks_for_a_question_mark_outside_urls(world):
    assert contains_question("Le bus 12 passe encore après 22h ?")
    assert not contains_question("Les photos : https://exemple.fr/album?id=42")
    assert contains_question("Voir https://exemple.fr/a?b=1 et alors ?")
    texts = pd.concat([frames_of(world, name)["interactions"] for name in ARCHETYPES])
    with_query_links = texts[texts.text.str.contains("album?id=42", regex=False)]
    assert len(with_query_links) > 5
    assert not with_query_links.is_question.any()
    script = texts[texts.text.str.contains("<script>alert(1)</script>", regex=False)]
    assert len(script) > 5  # typed by users, escaped in the HTML, plain text again after normalize


def test_a_question_mark_inside_a_link_shown_without_its_scheme_is_no_question():
    # Bluesky's record.text shows shortened links without a scheme; the ? of their query is no question.
    assert not contains_question("Our talk is online: youtu.be/dQw4w9WgXcQ?si=abc123")
    assert not contains_question("Programme : www.ville.example?lang=fr et bsky.app/profile/x?y=1")
    assert contains_question("Is the site ville.example down?")
    assert contains_question("Is it still open.today? youtu.be/abc?si=1")
    assert contains_question("See ville.example/plan? I can't find the map")


def test_every_listed_post_with_replies_has_its_thread_read_because_notifications_hold_every_reply(world):
    frames = frames_of(world, "maison_quartiers")
    posts = frames["posts"]
    with_replies = posts[(posts["reply_count"] > 0) & (posts["post_type"] != "repost")]
    reads = frames["thread_reads"].set_index("post_id")["reply_count"]

    assert len(with_replies) > 0
    assert reads.to_dict() == with_replies.set_index("post_id")["reply_count"].to_dict()


def test_normalize_keeps_one_row_per_id_when_pages_repeat(world):
    pages, frames = world["petit_theatre"]
    twice = records_frames(demo.normalize(pages + pages, account("petit_theatre"), OBSERVED_AT))
    for name, frame in frames.items():
        assert len(twice[name]) == len(frame)
        pd.testing.assert_frame_equal(twice[name], frame)


def test_normalize_ignores_unknown_extra_fields():
    plain = normalize_by_hand([status()], [notification()])
    extra = normalize_by_hand(
        [status(poll={"options": []}, emojis=[], application={"name": "x"})],
        [notification(tags=[{"name": "theatre"}]) | {"group_key": "g1"}],
    )
    for name in plain:
        pd.testing.assert_frame_equal(extra[name], plain[name])


@pytest.mark.parametrize(
    ("page", "fragments"),
    [
        (
            Page("accounts/statuses", b'[{"id": "1", "created_at": ', params={"page": "2"}),
            ["accounts/statuses page 2", "not valid JSON"],
        ),
        (
            listing_page("accounts/statuses", [status(), status(id="2", replies_count="7")], number=3),
            ["accounts/statuses page 3", "$[1].replies_count", "expected an integer, got a string"],
        ),
        (
            listing_page("notifications", [notification(id=None)], number=4),
            ["notifications page 4", "$[0].status.id", "expected a string, got null"],
        ),
        (
            listing_page("accounts/statuses", [{k: v for k, v in status().items() if k != "created_at"}]),
            ["accounts/statuses page 1", "$[0].created_at", "required field is missing"],
        ),
        (
            listing_page("notifications", {"error": "nope"}),  # type: ignore[arg-type]
            ["notifications page 1", "field $", "expected a list, got an object"],
        ),
        (
            listing_page("accounts/statuses", [status(media_attachments=[{"description": 3}])]),
            ["accounts/statuses page 1", "$[0].media_attachments[0].description"],
        ),
    ],
    ids=["malformed-json", "wrong-type", "null-id", "missing-field", "not-a-list", "nested-wrong-type"],
)
def test_normalize_error_names_the_page_and_the_field(page, fragments):
    with pytest.raises(NormalizationError) as error:
        demo.normalize([lookup_page(), page], account("petit_theatre"), OBSERVED_AT)
    for fragment in fragments:
        assert fragment in str(error.value)


def test_normalize_refuses_pages_without_the_lookup_or_of_another_account():
    with pytest.raises(NormalizationError, match="accounts/lookup"):
        demo.normalize([listing_page("accounts/statuses", [status()])], account("petit_theatre"), OBSERVED_AT)
    with pytest.raises(NormalizationError, match=r"accounts/lookup: field \$.acct"):
        demo.normalize([lookup_page()], account("riviere_transit"), OBSERVED_AT)


# --------------------------------------------------------------------------- accounts the platform refuses


def test_green_valley_has_nothing_before_its_creation_on_2026_08_24(world):
    frames = frames_of(world, "green_valley")
    created = pd.Timestamp("2026-08-24")
    assert frames["account_snapshots"].account_created_at[0] == created
    assert frames["posts"].created_at.min() >= created
    assert frames["interactions"].created_at.min() >= created
    assert len(frames["posts"]) > 20


def test_green_valley_cannot_be_looked_up_before_it_exists():
    with pytest.raises(SourceError) as error:
        fetch("green_valley", SINCE, datetime(2026, 8, 1, tzinfo=UTC))
    message = str(error.value)
    assert "demo:@green_valley" in message
    assert "https://demo.rapport.invalid/api/v1/accounts/lookup?acct=%40green_valley" in message
    assert "404" in message


def test_extract_raises_source_error_naming_account_and_url_for_an_unknown_handle():
    pages = demo.extract(account("nobody_here"), Window(SINCE, UNTIL))
    with pytest.raises(SourceError, match=r"demo:@nobody_here: GET https://demo\.rapport\.invalid/.*404"):
        next(pages)


def test_extract_refuses_an_account_of_another_platform():
    mastodon = Account("x", "mastodon", "@news", instance="example.social")
    with pytest.raises(SourceError, match="not a demo account"):
        list(demo.extract(mastodon, Window(SINCE, UNTIL)))


def test_the_registry_accounts_are_exactly_the_demo_archetypes():
    registry = load_registry(PROJECT_ROOT / "config" / "accounts.yml")
    handles = {item.handle.lstrip("@") for item in registry.accounts if item.platform == "demo"}
    assert handles == set(ARCHETYPES)
    for organization in registry.organizations:
        archetype = ARCHETYPES[organization.accounts[0].handle.lstrip("@")]
        assert (archetype.size_band, archetype.language) == (organization.size_band, organization.language)
        assert archetype.display_name == organization.name


# --------------------------------------------------------------------------- archetypes over 26 weeks


def test_riviere_transit_answers_nearly_every_question_within_the_hour_every_day(world):
    frames = frames_of(world, "riviere_transit")
    questions = frames["interactions"].is_question.sum()
    answers = answered(frames)
    delay = (answers.created_at - answers.created_at_question).dt.total_seconds() / 60
    active_days = frames["posts"].created_at.dt.normalize().nunique()
    assert questions / WEEKS > 8
    assert len(answers) / questions > 0.9
    assert 15 <= delay.median() <= 60
    assert active_days / WEEKS >= 6
    assert 15 <= len(frames["posts"]) / WEEKS <= 22


def test_northwind_bank_broadcasts_promotions_and_never_replies_reposts_or_mentions(world):
    frames = frames_of(world, "northwind_bank")
    posts = frames["posts"]
    assert set(posts.post_type) == {"original"}
    assert posts.mention_count.sum() == 0
    assert 13 <= len(posts) / WEEKS <= 17
    assert posts.text.map(lambda text: has_keyword(text, PROMO_KEYWORDS)).mean() > 0.6
    assert not posts.text.map(lambda text: has_keyword(text, PLAN_KEYWORDS)).any()
    assert frames["interactions"].is_question.sum() / WEEKS > 8  # asked a lot, answers nothing


def test_maison_quartiers_directs_most_actions_at_others_and_never_promotes(world):
    frames = frames_of(world, "maison_quartiers")
    posts = frames["posts"]
    answers_to_public = posts.in_reply_to_post_id.isin(frames["interactions"].interaction_id)
    directed = (
        posts.post_type.isin(["repost", "quote"])
        | ((posts.post_type == "original") & (posts.mention_count > 0))
        | ((posts.post_type == "reply") & ~posts.is_reply_to_self & ~answers_to_public)
    )
    assert directed.mean() > 0.6
    assert not posts.text.map(lambda text: has_keyword(text, PROMO_KEYWORDS)).any()


def test_atlas_energy_posts_about_once_a_week_on_one_day_without_alt_text(world):
    posts = frames_of(world, "atlas_energy")["posts"]
    originals = posts[posts.post_type == "original"]
    assert 0.5 <= len(originals) / WEEKS <= 1.2
    assert set(originals.created_at.dt.dayofweek) == {1}
    assert posts.media_count.sum() > 10
    assert posts.media_with_alt_text_count.sum() == 0


def test_festival_lumiere_bursts_in_weeks_6_to_11_then_goes_silent_from_week_12(world):
    frames = frames_of(world, "festival_lumiere")
    weekly = week_index(frames["posts"].created_at).value_counts().reindex(range(WEEKS), fill_value=0)
    assert weekly[0:5].max() <= 5
    assert weekly[5:11].min() >= 30
    assert weekly[11:].sum() == 0
    public_after = week_index(frames["interactions"].created_at) >= 11
    assert 5 <= public_after.sum() <= 40  # the public still writes now and then


def test_open_city_lab_talks_about_its_plans_and_mostly_answers_its_public(world):
    frames = frames_of(world, "open_city_lab")
    posts = frames["posts"]
    originals = posts[posts.post_type == "original"]
    answers_to_public = posts.in_reply_to_post_id.isin(frames["interactions"].interaction_id)
    assert originals.text.map(lambda text: has_keyword(text, PLAN_KEYWORDS)).mean() > 0.6
    assert answers_to_public.mean() > 0.5


def test_petit_theatre_posts_about_five_times_a_week_every_week_with_alt_text_on_every_image(world):
    posts = frames_of(world, "petit_theatre")["posts"]
    weekly = week_index(posts.created_at).value_counts().reindex(range(WEEKS), fill_value=0)
    days = posts.created_at.dt.normalize().groupby(week_index(posts.created_at)).nunique()
    assert weekly.min() >= 2 and 4 <= weekly.mean() <= 7
    assert 4 <= days.mean() <= 5.5
    assert posts.media_count.sum() > 50
    assert (posts.media_with_alt_text_count == posts.media_count).all()


def test_only_plans_and_promo_posts_carry_their_keywords(world):
    for name in ("riviere_transit", "maison_quartiers", "open_city_lab", "petit_theatre"):
        texts = frames_of(world, name)["posts"].text
        assert not texts.map(lambda text: has_keyword(text, PROMO_KEYWORDS)).any(), name


def indicator_proxies(world: dict[str, Any]) -> pd.DataFrame:
    """Crude stand-ins for the five indicators over the last 12 weeks, to check the design."""
    rows = {}
    last_weeks = 12
    for name, archetype in ARCHETYPES.items():
        frames = frames_of(world, name)
        posts = frames["posts"][week_index(frames["posts"].created_at) >= WEEKS - last_weeks]
        interactions = frames["interactions"][
            week_index(frames["interactions"].created_at) >= WEEKS - last_weeks
        ]
        questions = interactions[interactions.is_question]
        answers = posts[posts.in_reply_to_post_id.isin(questions.interaction_id)]
        originals = posts[posts.post_type == "original"]
        to_public = posts.in_reply_to_post_id.isin(interactions.interaction_id)
        directed = (
            posts.post_type.isin(["repost", "quote"])
            | ((posts.post_type == "original") & (posts.mention_count > 0))
            | ((posts.post_type == "reply") & ~posts.is_reply_to_self & ~to_public)
        )
        media = posts.media_count.sum()
        weeks_active = week_index(posts.created_at).nunique()
        rows[name] = {
            "trust": len(answers) / max(1, len(questions)),
            "openness": to_public.mean() + originals.text.map(lambda t: has_keyword(t, PLAN_KEYWORDS)).mean()
            if len(posts)
            else 0.0,
            "involvement": directed.mean()
            + 1
            - originals.text.map(lambda t: has_keyword(t, PROMO_KEYWORDS)).mean()
            if len(posts)
            else 0.0,
            "investment": len(posts) / last_weeks / EXPECTED_EFFORT[archetype.size_band]
            + (posts.media_with_alt_text_count.sum() / media if media else 0)
            + posts.created_at.dt.normalize().nunique() / (7 * last_weeks),
            "commitment": weeks_active / last_weeks,
        }
    return pd.DataFrame(rows).T


def test_indicator_proxies_single_out_each_archetype_as_designed(world):
    proxies = indicator_proxies(world)
    assert proxies.trust.idxmax() == "riviere_transit"
    assert proxies.openness.idxmax() == "open_city_lab"
    assert proxies.openness.idxmin() in {"northwind_bank", "festival_lumiere"}  # festival: no post at all
    assert proxies.involvement.idxmax() == "maison_quartiers"
    assert proxies.drop("festival_lumiere").involvement.idxmin() == "northwind_bank"
    assert proxies.investment.idxmax() == "petit_theatre"
    assert proxies.drop("festival_lumiere").investment.idxmin() == "atlas_energy"
    assert proxies.commitment.idxmin() == "festival_lumiere"
    assert proxies.commitment["festival_lumiere"] == 0
