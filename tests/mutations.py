"""Real-shaped extractions of every source, and Hypothesis strategies that damage them.

A platform, a proxy or a network can hand Rapport almost anything: a field
missing or of another type, null, a 1 MB string, bytes that are not UTF-8,
twice the same id, a date in 1970 or 2099, a negative or 100-bit count, JSON
cut short. :func:`mutated_extractions` draws such damage, one to three
mutations on the pages of a recorded (Mastodon, Bluesky) or simulated (demo)
extraction. Structural mutations pick the field by name first, then one of its
occurrences, so that rare fields are hit as often as the ``id`` of every item.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from rapport.accounts import Account
from rapport.sources import Page, Window, demo, get_source
from rapport.sources.payloads import JsonNode

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MEGABYTE = 2**20

JsonPath = tuple[str | int, ...]
Draw = Callable[[st.SearchStrategy[Any]], Any]


@dataclass(frozen=True)
class Sample:
    """One account's extraction as its source lands it, and when it was observed."""

    platform: str
    account: Account
    window: Window
    observed_at: datetime
    pages: tuple[Page, ...]

    @functools.cached_property
    def read_fields(self) -> frozenset[str]:
        """The names of the fields the source's ``normalize`` reads from these pages."""
        return fields_read(self)


@dataclass(frozen=True)
class Mutated:
    """A sample's pages after damage: the pages, which endpoints were hit, and how."""

    pages: tuple[Page, ...]
    damaged_endpoints: frozenset[str]
    changes: tuple[str, ...]

    def __repr__(self) -> str:  # the pages may hold megabytes: show what was done to them instead
        return f"Mutated({'; '.join(self.changes)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # how Hypothesis prints an example
        printer.text(repr(self))


# -- the real-shaped extractions ----------------------------------------------------------------------

DEMO_ACCOUNT = Account(organization_id="riviere-transit", platform="demo", handle="@riviere_transit")
MASTODON_ACCOUNT = Account(
    organization_id="riviere-transit",
    platform="mastodon",
    handle="@riviere_transit",
    instance="mastodon.example",
)
BLUESKY_ACCOUNT = Account(
    organization_id="lakeside-library", platform="bluesky", handle="lakesidelibrary.bsky.social"
)

WINDOW = Window(since=datetime(2026, 11, 16, tzinfo=UTC), until=datetime(2026, 11, 23, tzinfo=UTC))
OBSERVED_AT = datetime(2026, 11, 23, 3, 0)
MASTODON_OWN_ID = "109318455327462819"


def _fixture(platform: str, name: str) -> bytes:
    return (FIXTURES / platform / name).read_bytes()


def demo_sample() -> Sample:
    """A week of the demo's Rivière Transit: lookup, statuses and notifications pages."""
    return Sample("demo", DEMO_ACCOUNT, WINDOW, OBSERVED_AT, tuple(demo.extract(DEMO_ACCOUNT, WINDOW)))


def mastodon_sample() -> Sample:
    """The recorded week of @riviere_transit@mastodon.example: lookup, three statuses pages, three threads."""
    statuses = f"accounts/{MASTODON_OWN_ID}/statuses"
    pages = [
        Page(
            "accounts/lookup", _fixture("mastodon", "accounts_lookup.json"), 200, {"acct": "riviere_transit"}
        )
    ]
    for number in (1, 2, 3):
        body = _fixture("mastodon", f"account_statuses_page_{number}.json")
        params = {"limit": "4", "exclude_replies": "false"}
        if number > 1:
            previous = json.loads(_fixture("mastodon", f"account_statuses_page_{number - 1}.json"))
            params["max_id"] = previous[-1]["id"]
        pages.append(Page(statuses, body, 200, params))
    for status_id, name in (
        ("117661415004241938", "s1"),
        ("117655260364800021", "s3"),
        ("117636916838400023", "s6"),
    ):
        pages.append(
            Page(f"statuses/{status_id}/context", _fixture("mastodon", f"status_context_{name}.json"))
        )
    return Sample("mastodon", MASTODON_ACCOUNT, WINDOW, OBSERVED_AT, tuple(pages))


def bluesky_sample() -> Sample:
    """The recorded fortnight of lakesidelibrary.bsky.social: handle, profile, three feed pages, five threads."""
    did = json.loads(_fixture("bluesky", "getProfile.json"))["did"]
    pages = [
        Page(
            "com.atproto.identity.resolveHandle",
            _fixture("bluesky", "resolveHandle.json"),
            200,
            {"handle": BLUESKY_ACCOUNT.handle},
        ),
        Page("app.bsky.actor.getProfile", _fixture("bluesky", "getProfile.json"), 200, {"actor": did}),
    ]
    cursor: str | None = None
    for number in (1, 2, 3):
        body = _fixture("bluesky", f"getAuthorFeed-page{number}.json")
        params = {"actor": did, "filter": "posts_with_replies", "limit": "100"} | (
            {"cursor": cursor} if cursor else {}
        )
        pages.append(Page("app.bsky.feed.getAuthorFeed", body, 200, params))
        cursor = json.loads(body).get("cursor")
    for name in ("garden", "archives-quote", "atelier", "report"):
        body = _fixture("bluesky", f"getPostThread-{name}.json")
        uri = json.loads(body)["thread"]["post"]["uri"]
        pages.append(
            Page("app.bsky.feed.getPostThread", body, 200, {"uri": uri, "depth": "6", "parentHeight": "0"})
        )
    deleted = _fixture("bluesky", "getPostThread-deleted.json")
    pages.append(
        Page("app.bsky.feed.getPostThread", deleted, 400, {"uri": f"at://{did}/app.bsky.feed.post/gone"})
    )
    window = Window(since=datetime(2026, 11, 9, tzinfo=UTC), until=WINDOW.until)
    return Sample("bluesky", BLUESKY_ACCOUNT, window, OBSERVED_AT, tuple(pages))


def fields_read(sample: Sample) -> frozenset[str]:
    """The field names ``normalize`` asks a :class:`JsonNode` for while reading a sample's pages."""
    read: set[str] = set()
    get = JsonNode._get

    def record(node: JsonNode, key: str, *, required: bool) -> object:
        read.add(key)
        return get(node, key, required=required)

    with mock.patch.object(JsonNode, "_get", record):
        get_source(sample.platform).normalize(list(sample.pages), sample.account, sample.observed_at)
    return frozenset(read)


SAMPLES: dict[str, Callable[[], Sample]] = {
    "demo": demo_sample,
    "mastodon": mastodon_sample,
    "bluesky": bluesky_sample,
}


# -- JSON paths -----------------------------------------------------------------------------------------

_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT")
_ID_KEYS = frozenset(
    {"id", "uri", "did", "cid", "acct", "handle", "in_reply_to_id", "in_reply_to_account_id"}
)
_PLACEHOLDER = "@@raw-literal@@"


def _walk(value: object, path: JsonPath = ()) -> Iterator[tuple[JsonPath, object]]:
    if isinstance(value, dict):
        items: Iterator[tuple[str | int, object]] = iter(value.items())
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield (*path, key), child
        yield from _walk(child, (*path, key))


def describe_path(path: JsonPath) -> str:
    return "$" + "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in path)


def _parent(root: Any, path: JsonPath) -> Any:
    for key in path[:-1]:
        root = root[key]
    return root


def _get(root: Any, path: JsonPath) -> Any:
    return _parent(root, path)[path[-1]]


def _set(root: Any, path: JsonPath, value: object) -> None:
    _parent(root, path)[path[-1]] = value


def _draw_path(
    draw: Draw, root: object, eligible: Callable[[JsonPath, object], bool], read: frozenset[str]
) -> JsonPath | None:
    """A path to an eligible value: a field name first (``[]`` for list items), then one of its occurrences.

    The name is one of the fields the source reads (``read``), when the page has any, three
    times out of four, and always for typed damage (text, time, count): damage to the other
    fields is ignored, and proves less.
    """
    groups: dict[str, list[JsonPath]] = {}
    for path, value in _walk(root):
        if eligible(path, value):
            name = path[-1] if isinstance(path[-1], str) else "[]"
            groups.setdefault(name, []).append(path)
    if not groups:
        return None
    names = sorted(groups)
    known = [name for name in names if name in read]
    if known and (eligible in _TYPED or draw(st.integers(0, 3)) < 3):
        names = known
    chosen: JsonPath = draw(st.sampled_from(groups[draw(st.sampled_from(names))]))
    return chosen


def _any(path: JsonPath, value: object) -> bool:
    return True


def _is_field(path: JsonPath, value: object) -> bool:
    return isinstance(path[-1], str)


def _is_text(path: JsonPath, value: object) -> bool:
    return isinstance(value, str)


def _is_timestamp(path: JsonPath, value: object) -> bool:
    key = path[-1]
    named = isinstance(key, str) and (key.endswith("_at") or key.endswith("At"))
    return named or (isinstance(value, str) and bool(_TIMESTAMP.match(value)))


def _is_count(path: JsonPath, value: object) -> bool:
    key = path[-1]
    named = isinstance(key, str) and (key.endswith("_count") or key.endswith("Count"))
    return named or (isinstance(value, int) and not isinstance(value, bool))


def _is_id(path: JsonPath, value: object) -> bool:
    return path[-1] in _ID_KEYS and isinstance(value, str)


def _is_list_of_objects(path: JsonPath, value: object) -> bool:
    return isinstance(value, list) and any(isinstance(item, dict) for item in value)


_TYPED = (_is_text, _is_timestamp, _is_count)


# -- what can go wrong ------------------------------------------------------------------------------------

WRONG_TYPES: tuple[object, ...] = (None, True, False, 0, -1, 1.5, "", "x", [], {}, [None], {"": None})
TIMESTAMPS = (
    "1970-01-01T00:00:00Z",
    "1970-01-01T00:00:00.000Z",
    "1999-12-31T23:59:59.999Z",
    "2099-12-31T23:59:59.999Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00Z",
    "0000-00-00T00:00:00Z",
    "2026-02-30T10:00:00Z",
    "2026-11-20",
    "2026-11-20T10:00:00",
    "2026-11-20T10:00:00+25:00",
    "2026-11-20T10:00:00Z\x00",
    "yesterday",
    "",
)
COUNTS = (-1, -(2**31), -(2**63), -(2**63) - 1, 2**63 - 1, 2**63, 10**30)
ODD_TEXTS = (
    "\ud800",  # an unpaired surrogate: valid JSON (\ud800), not Unicode
    "a\udfffb",
    "\ud83d",  # half an emoji
    "\x00",
    "\u202e\u200b\ufeff",
    "😀👩‍👩‍👧 مرحبا שלום",
    "<script>alert(1)</script>",
    "&#xD800;&#0;&#x110000;&#99999999999;",
    "\r\n\t",
    "at://",
    "did:",
    "@",
)
HUGE_TEXTS = (
    "a" * MEGABYTE,
    "é" * (MEGABYTE // 2),
    "word? " * (MEGABYTE // 6),
    '<p>Plan <a href="https://example.org/a?b=c">here</a> #tag</p>' * (MEGABYTE // 60),
)
RAW_LITERALS = (
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 50_000 + "1" + "}" * 50_000,
    "9" * 5000,
    "-" + "9" * 5000,
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    "1.0",
    "1e2",
    "-0",
)
INVALID_UTF8 = (b"\xff", b"\xfe\xff", b"\x80", b"\xc3\x28", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80")

_OFFSETS = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12, minutes=30))]
)


def _drop(draw: Draw, root: Any, read: frozenset[str]) -> tuple[str, str | None] | None:
    path = _draw_path(draw, root, _is_field, read)
    if path is None:
        return None
    del _parent(root, path)[path[-1]]
    return f"dropped {describe_path(path)}", None


def _null(draw: Draw, root: Any, read: frozenset[str]) -> tuple[str, str | None] | None:
    path = _draw_path(draw, root, _any, read)
    if path is None:
        return None
    _set(root, path, None)
    return f"nulled {describe_path(path)}", None


def _wrong_type(draw: Draw, root: Any, read: frozenset[str]) -> tuple[str, str | None] | None:
    path = _draw_path(draw, root, _any, read)
    if path is None:
        return None
    value = draw(st.sampled_from(WRONG_TYPES))
    _set(root, path, value)
    return f"set {describe_path(path)} to {value!r}", None


def _timestamp(draw: Draw, root: Any, read: frozenset[str]) -> tuple[str, str | None] | None:
    path = _draw_path(draw, root, _is_timestamp, read)
    if path is None:
        return None
    value = draw(
        st.sampled_from(TIMESTAMPS)
        if draw(st.integers(0, 3)) < 3
        else st.datetimes(timezones=_OFFSETS).map(lambda moment: moment.isoformat().replace("+00:00", "Z"))
    )
    _set(root, path, value)
    return f"set {describe_path(path)} to {value!r}", None


def _count(draw: Draw, root: Any, read: frozenset[str]) -> tuple[str, str | None] | None:
    path = _draw_path(draw, root, _is_count, read)
    if path is None:
        return None
    value = draw(st.sampled_from(COUNTS) if draw(st.integers(0, 3)) < 3 else st.integers())
    _set(root, path, value)
    return f"set {describe_path(path)} to {value}", None


def _duplicate(draw: Draw, root: Any, read: frozenset[str]) -> tuple[str, str | None] | None:
    if draw(st.booleans()):
        path = _draw_path(draw, root, _is_list_of_objects, read)
        if path is not None:
            items = _get(root, path)
            index = draw(st.integers(0, len(items) - 1))
            items.insert(draw(st.integers(0, len(items))), json.loads(json.dumps(items[index])))
            return f"duplicated {describe_path((*path, index))}", None
    source = _draw_path(draw, root, _is_id, read)
    if source is None:
        return None
    targets = [
        path
        for path, value in _walk(root)
        if _is_id(path, value) and path[-1] == source[-1] and path != source
    ]
    if not targets:
        return None
    target = draw(st.sampled_from(targets))
    _set(root, target, _get(root, source))
    return f"copied {describe_path(source)} to {describe_path(target)}", None


def _odd_text(draw: Draw, root: Any, read: frozenset[str]) -> tuple[str, str | None] | None:
    path = _draw_path(draw, root, _is_text, read)
    if path is None:
        return None
    odd = draw(st.sampled_from(ODD_TEXTS) | st.text(max_size=40))
    value = _get(root, path) + odd if draw(st.booleans()) else odd
    _set(root, path, value)
    return f"set {describe_path(path)} to {value[:60]!r}", None


def _huge_text(draw: Draw, root: Any, read: frozenset[str]) -> tuple[str, str | None] | None:
    path = _draw_path(draw, root, _is_text, read) or _draw_path(draw, root, _any, read)
    if path is None:
        return None
    value = draw(st.sampled_from(HUGE_TEXTS))
    _set(root, path, value)
    return f"set {describe_path(path)} to {len(value.encode())} bytes of {value[:12]!r}...", None


def _raw_literal(draw: Draw, root: Any, read: frozenset[str]) -> tuple[str, str | None] | None:
    path = _draw_path(draw, root, _any, read)
    if path is None:
        return None
    literal = draw(st.sampled_from(RAW_LITERALS))
    _set(root, path, _PLACEHOLDER)
    return f"set {describe_path(path)} to the JSON literal {literal[:12]}... ({len(literal)} chars)", literal


# Typed damage twice as often: it is what the readers of counts, times and text must withstand.
STRUCTURAL = (
    _drop,
    _null,
    _wrong_type,
    _timestamp,
    _timestamp,
    _count,
    _count,
    _duplicate,
    _odd_text,
    _odd_text,
    _huge_text,
    _raw_literal,
)


def _truncate(draw: Draw, body: bytes) -> tuple[bytes, str]:
    at = draw(st.integers(0, max(len(body) - 1, 0)))
    return body[:at], f"cut the body at byte {at} of {len(body)}"


def _invalid_utf8(draw: Draw, body: bytes) -> tuple[bytes, str]:
    at = draw(st.integers(0, len(body)))
    garbage = draw(st.sampled_from(INVALID_UTF8))
    return body[:at] + garbage + body[at:], f"inserted {garbage!r} at byte {at}"


def _replace_body(draw: Draw, body: bytes) -> tuple[bytes, str]:
    replacements = {
        "empty": b"",
        "blank": b" \n",
        "null": b"null",
        "an empty list": b"[]",
        "an empty object": b"{}",
        "a string": b'"ok"',
        "a number": b"0",
        "an HTML error page": b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        "a byte order mark and the body": b"\xef\xbb\xbf" + body,
        "the body twice": body + body,
        "the body gzipped": gzip.compress(body, mtime=0),
        "the body in UTF-16": body.decode("utf-8", errors="replace").encode("utf-16"),
    }
    name = draw(st.sampled_from(sorted(replacements)))
    return replacements[name], f"replaced the body by {name}"


BYTEWISE = (_truncate, _invalid_utf8, _replace_body)


def _serialize(root: object, literal: str | None) -> bytes:
    try:
        text = json.dumps(root, ensure_ascii=False)
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate: only JSON's \\u escape can carry it
        text = json.dumps(root)
        encoded = text.encode("ascii")
    if literal is not None:
        encoded = encoded.replace(json.dumps(_PLACEHOLDER).encode(), literal.encode(), 1)
    return encoded


def _parse(body: bytes) -> object | None:
    try:
        parsed: object = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return parsed


@st.composite
def _damaged_body(draw: Draw, body: bytes, read: frozenset[str]) -> tuple[bytes, str]:
    """One mutation of a body: structural when it is JSON (most often), else on its bytes."""
    root = _parse(body)
    if root is not None and draw(st.integers(0, 4)) < 4:
        mutation = draw(st.sampled_from(STRUCTURAL))
        done = mutation(draw, root, read) or _null(draw, root, read)
        if done is not None:
            change, literal = done
            return _serialize(root, literal), change
    damage = draw(st.sampled_from(BYTEWISE))
    damaged: tuple[bytes, str] = damage(draw, body)
    return damaged


def _label(page: Page) -> str:
    extra = next(
        (f" {key}={page.params[key]}" for key in ("page", "max_id", "cursor", "uri") if key in page.params),
        "",
    )
    return f"{page.endpoint}{extra}"


@st.composite
def mutated_extractions(draw: Draw, sample: Sample, max_mutations: int = 3) -> Mutated:
    """A sample's pages with one to ``max_mutations`` mutations, each on one page (or a page landed twice)."""
    pages = list(sample.pages)
    damaged: set[str] = set()
    changes = []
    # Mostly one: a second mutation often hides the first (the page it breaks is refused before).
    for _ in range(min(max_mutations, (1, 1, 1, 1, 1, 2, 2, 3)[draw(st.integers(0, 7))])):
        index = draw(st.integers(0, len(pages) - 1))
        page = pages[index]
        if draw(st.integers(0, 15)) == 15:
            pages.insert(index, page)
            changes.append(f"{_label(page)}: landed twice")
            continue
        body, change = draw(_damaged_body(page.body, sample.read_fields))
        pages[index] = dataclasses.replace(page, body=body)
        damaged.add(page.endpoint)
        changes.append(f"{_label(page)}: {change}")
    return Mutated(tuple(pages), frozenset(damaged), tuple(changes))


def with_value(
    sample: Sample, index: int, path: JsonPath, value: object = None, *, raw: str | None = None
) -> Mutated:
    """A sample with one field of one page set to ``value`` (or to the JSON text ``raw``): a known damage."""
    page = sample.pages[index]
    root = json.loads(page.body)
    _set(root, path, value if raw is None else _PLACEHOLDER)
    shown = repr(value)[:40] if raw is None else f"the JSON literal {raw[:12]}... ({len(raw)} chars)"
    return _replaced(sample, index, _serialize(root, raw), f"set {describe_path(path)} to {shown}")


def with_body(sample: Sample, index: int, body: bytes) -> Mutated:
    """A sample with the body of one page replaced: a known damage."""
    return _replaced(sample, index, body, f"replaced the body by {body[:12]!r}... ({len(body)} bytes)")


def _replaced(sample: Sample, index: int, body: bytes, change: str) -> Mutated:
    page = sample.pages[index]
    pages = (*sample.pages[:index], dataclasses.replace(page, body=body), *sample.pages[index + 1 :])
    return Mutated(pages, frozenset({page.endpoint}), (f"{_label(page)}: {change}",))


def known_damage(sample: Sample) -> list[Mutated]:
    """The damage that broke a source's ``normalize`` before it was fixed: each must be refused.

    A count beyond 64 bits (pandas raised OverflowError), an integer of 5,000
    digits (ValueError from the JSON parser), a megabyte-long handle (the error
    message carried it whole), a timestamp whose UTC time falls outside years
    1-9999 (OverflowError), an unpaired surrogate (UnicodeEncodeError when the
    frame was built), JSON nested 100,000 deep (RecursionError).
    """
    nested = b"[" * 100_000 + b"]" * 100_000
    if sample.platform == "bluesky":
        return [
            with_value(sample, 1, ("followersCount",), 10**30),
            with_value(sample, 1, ("postsCount",), raw="9" * 5000),
            with_value(sample, 2, ("feed", 0, "post", "indexedAt"), "9999-12-31T23:59:59-01:00"),
            with_value(sample, 2, ("feed", 0, "post", "record", "text"), "\ud83d"),
            with_value(sample, 2, ("feed", 1, "post", "record", "langs", 0), "\ud800"),
            with_body(sample, 3, nested),
        ]
    # demo and mastodon: the lookup, then the statuses pages (Mastodon's threads after them)
    return [
        with_value(sample, 0, ("followers_count",), 2**63),
        with_value(sample, 0, ("statuses_count",), raw="-" + "9" * 5000),
        with_value(sample, 0, ("acct",), "a" * MEGABYTE),
        with_value(sample, 1, (0, "created_at"), "0001-01-01T00:00:00+01:00"),
        with_value(sample, 1, (1, "content"), "<p>a\udfffb</p>"),
        with_body(sample, len(sample.pages) - 1, b'{"ancestors": ' + nested + b"}"),
    ]


def draw_distinct(sample: Sample, count: int, max_mutations: int = 2) -> list[Mutated]:
    """``count`` differently damaged versions of a sample, the same ones on every run.

    For checks whose every example costs seconds (a Great Expectations run):
    they check many examples in one go instead of one by one, and leave the
    shrinking of a failure to the unit tests of the same strategies. The
    versions are the items of one list drawn at random: a short Hypothesis run
    starts with its simplest example and then varies the first few.
    """
    distinct = st.lists(
        mutated_extractions(sample, max_mutations),
        min_size=count,
        max_size=count,
        unique_by=lambda mutated: mutated.changes,
    )
    drawn: list[list[Mutated]] = []

    @settings(
        max_examples=2,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(distinct)
    def collect(example: list[Mutated]) -> None:
        drawn.append(example)

    collect()
    return drawn[-1]
