"""Scale accounts of the demo platform: as many generated organizations as a test of scale needs.

Besides its eight hand-tuned archetypes, the demo platform serves any handle
``@scale_<n>`` (``n`` up to seven digits): an organization whose week ``w`` is
drawn, with NumPy, from a generator seeded by (seed, n, w) alone. So any
window of any account gives the same items, whatever the windows asked
before, and an incremental run sees exactly what a backfill sees.

Each week, an account publishes a Poisson number of posts (originals with
links, media and alt text, reposts, quotes, replies to partners) and its
public writes to it (replies to its posts, mentions, quotes), some of them
questions, most answered after an exponential delay. How much of each is set
by :class:`ScaleProfile` (environment variables ``RAPPORT_DEMO_SCALE_*``); the
defaults give some 19 posts and 48 public posts per account per week, so
10,000 accounts over 52 weeks are about 10 million posts and 25 million
interactions. The JSON is the demo platform's Mastodon shape, written from
templates rather than dictionaries, because generating tens of millions of
items must take minutes.

:func:`land_world` lands a whole registry of scale accounts in the landing
zone, in parallel processes: what ``rapport simulate`` and the benchmarks use.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import Field

from rapport.settings import read_setting
from rapport.simulators.demo_world import (
    BASE_URL,
    DemoApiError,
    DemoResponse,
    api_url,
    listing_parameters,
    page_of,
    stable_id,
)
from rapport.sources import Window
from rapport.sources.demo.settings import LOOKUP_ENDPOINT, NOTIFICATIONS_ENDPOINT, STATUSES_ENDPOINT

if TYPE_CHECKING:
    import numpy as np

    from rapport.accounts import Account

SCALE_HANDLE: Final = re.compile(r"^@?scale_(\d{1,7})$")
SCALE_START: Final = datetime(2025, 1, 6, tzinfo=UTC)
"""Monday of ISO week 2025-W02: every scale account exists from then on."""

_WEEK_SECONDS: Final = 7 * 24 * 3600
_MEMBERS: Final = 5000
"""Size of the public: authors are drawn from this many accounts."""

# Post kinds, in the order of ScaleProfile's shares.
_ORIGINAL, _REPOST, _QUOTE, _PARTNER_REPLY = range(4)
# Public post kinds.
_REPLY, _MENTION, _PUBLIC_QUOTE = range(3)

_ORIGINAL_TEXTS: Final = (
    '<p>Our plans for next month are out: read them here <a href=\\"https://example.org/plans\\">'
    "example.org/plans</a></p>",
    "<p>Nouvelle saison, nouveaux horaires : tout est sur notre site.</p>",
    "<p>Thank you all for coming last night!<br />Photos below.</p>",
    "<p>Offre spéciale cette semaine seulement, réservez vite !</p>",
    "<p>We are hiring: two community roles, apply before Friday.</p>",
)
_PUBLIC_TEXTS: Final = (
    "<p>Merci pour l&#39;info !</p>",
    "<p>Great news, well done</p>",
    "<p>I agree with this &amp; more</p>",
)
_QUESTION_TEXTS: Final = (
    "<p>When does it open again?</p>",
    "<p>Est-ce que c&#39;est gratuit pour les enfants ?</p>",
    '<p>Any update on the delays? <a href=\\"https://example.org/q?x=1\\">link</a></p>',
)
_ANSWER_TEXTS: Final = (
    "<p>Hello! It reopens on Monday at 9.</p>",
    "<p>Bonjour, oui, c&#39;est gratuit jusqu&#39;à 12 ans.</p>",
)
_ALT_TEXT: Final = "A photo of the team at the event"


@dataclass(frozen=True)
class ScaleProfile:
    """How much a scale account and its public write. Means are per account per week."""

    posts_per_week: float = 14.0
    """Posts that are not answers: originals, reposts, quotes, replies to partners."""
    public_posts_per_week: float = 48.0
    question_share: float = 0.15
    answered_share: float = 0.7
    mean_answer_delay_hours: float = 6.0
    repost_share: float = 0.15
    quote_share: float = 0.05
    partner_reply_share: float = 0.1
    media_share: float = 0.4
    alt_text_share: float = 0.6

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ScaleProfile:
        """The profile with each field overridden by ``RAPPORT_DEMO_SCALE_<FIELD>`` when set.

        Raises ``SettingsError`` naming the variable when a value is not a number in range.
        """
        defaults, values = cls(), {}
        for field in fields(cls):
            share = field.name.endswith("_share")
            values[field.name] = read_setting(
                f"RAPPORT_DEMO_SCALE_{field.name.upper()}",
                Annotated[float, Field(ge=0, le=1 if share else None, allow_inf_nan=False)],
                float(getattr(defaults, field.name)),
                "a share from 0 to 1" if share else "a number, 0 or more",
                environ,
            )
        return cls(**values)


def is_scale_handle(handle: str) -> bool:
    return SCALE_HANDLE.match(handle) is not None


def scale_handle(number: int) -> str:
    return f"@scale_{number:06d}"


@dataclass
class _Week:
    """One generated week of one account: its posts and its public's, as NumPy columns."""

    post_ids: np.ndarray
    post_seconds: np.ndarray
    post_kinds: np.ndarray
    reply_to_ids: list[str | None]
    reply_to_accounts: list[str | None]
    shared_ids: np.ndarray
    texts: np.ndarray
    media: np.ndarray
    alt_texts: np.ndarray
    reblogs: np.ndarray
    favourites: np.ndarray
    reply_seconds: list[list[int]]
    public_ids: np.ndarray
    public_seconds: np.ndarray
    public_kinds: np.ndarray
    public_authors: np.ndarray
    public_texts: list[str]
    public_reply_to: list[str | None]


class ScaleClient:
    """The demo platform's API for one ``@scale_<n>`` account, as :class:`DemoClient` answers it."""

    def __init__(self, handle: str, *, seed: str, now: datetime, profile: ScaleProfile | None = None) -> None:
        match = SCALE_HANDLE.match(handle)
        if match is None:
            raise ValueError(f"{handle!r} is not a scale account handle (@scale_<number>)")
        self.number = int(match.group(1))
        self.acct = f"scale_{self.number:06d}"
        self.id = stable_id(self.acct)
        self.seed = seed
        self.now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
        self.profile = profile or ScaleProfile.from_environment()
        self.activity = _activity(seed, self.number)
        self.language = "fr" if self.number % 3 == 0 else "en"
        self._listings: dict[tuple[str, datetime, datetime], list[bytes]] = {}
        self._weeks: dict[int, _Week] = {}

    def url(self, endpoint: str, params: Mapping[str, str]) -> str:
        return api_url(endpoint, params)

    def get(self, endpoint: str, params: Mapping[str, str]) -> DemoResponse:
        """Answer one GET request, as :meth:`DemoClient.get` does (never raises)."""
        try:
            if self.now <= SCALE_START:
                raise DemoApiError(404, "Record not found")
            if endpoint == LOOKUP_ENDPOINT:
                if params.get("acct", "").lstrip("@") != self.acct:
                    raise DemoApiError(404, "Record not found")
                return DemoResponse(200, self._account_json())
            if endpoint in (STATUSES_ENDPOINT, NOTIFICATIONS_ENDPOINT):
                return self._page(endpoint, params)
            raise DemoApiError(404, f"no endpoint {endpoint!r}")
        except DemoApiError as error:
            return DemoResponse(error.status, json.dumps({"error": str(error)}).encode())

    def _account_json(self) -> bytes:
        weeks = (self.now - SCALE_START).total_seconds() / _WEEK_SECONDS
        followers = int(200 + 5000 * self.activity + weeks * 12 * self.activity)
        statuses = int(300 + weeks * self.profile.posts_per_week * self.activity)
        return (
            f'{{"id":"{self.id}","username":"{self.acct}","acct":"{self.acct}",'
            f'"display_name":"Scale organization {self.number}","locked":false,"bot":false,'
            f'"created_at":"2020-01-06T09:00:00.000Z","url":"{BASE_URL}/@{self.acct}",'
            f'"followers_count":{followers},"following_count":{150 + self.number % 200},'
            f'"statuses_count":{statuses}}}'
        ).encode()

    def _page(self, endpoint: str, params: Mapping[str, str]) -> DemoResponse:
        since, until, number = listing_parameters(params, self.now)
        key = (endpoint, since, until)
        if key not in self._listings:
            self._listings[key] = self._listing(endpoint, since, until)
        items, next_params = page_of(self._listings[key], number, params)
        return DemoResponse(200, b"[" + b",".join(items) + b"]", next_params)

    def _listing(self, endpoint: str, since: datetime, until: datetime) -> list[bytes]:
        """Every item published in [since, until), newest first, as JSON."""
        if since >= until:
            return []
        # An answer may be published up to days after its week: start a week early.
        first_week = max(0, int((since - SCALE_START).total_seconds() // _WEEK_SECONDS) - 1)
        last_week = int((until - SCALE_START).total_seconds() // _WEEK_SECONDS)
        low = (since - SCALE_START).total_seconds()
        high = (until - SCALE_START).total_seconds()
        items: list[tuple[float, str, bytes]] = []
        for week_index in range(first_week, last_week + 1):
            if week_index not in self._weeks:
                self._weeks[week_index] = _generate_week(
                    self.seed, self.number, week_index, self.profile, self.activity
                )
            week = self._weeks[week_index]
            if endpoint == STATUSES_ENDPOINT:
                items += self._statuses_json(week, low, high)
            else:
                items += self._mentions_json(week, low, high)
        items.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [item[2] for item in items]

    def _statuses_json(self, week: _Week, low: float, high: float) -> list[tuple[float, str, bytes]]:
        found = []
        account = f'{{"id":"{self.id}","acct":"{self.acct}"}}'
        for index in ((week.post_seconds >= low) & (week.post_seconds < high)).nonzero()[0]:
            seconds = float(week.post_seconds[index])
            post_id = str(week.post_ids[index])
            kind = int(week.post_kinds[index])
            age_hours = (high - seconds) / 3600
            shared = (
                f'{{"id":"{week.shared_ids[index]}","account":{{"id":"{_member_id(int(week.shared_ids[index]))}",'
                f'"acct":"partner_{int(week.shared_ids[index]) % 97}@example.social"}}}}'
            )
            media = ",".join(
                f'{{"id":"{post_id}{position}","type":"image","url":"{BASE_URL}/media/{post_id}{position}.jpg",'
                f'"description":{_ALT_TEXT_JSON if position < week.alt_texts[index] else "null"}}}'
                for position in range(int(week.media[index]))
            )
            reply_to = week.reply_to_ids[index]
            found.append(
                (
                    seconds,
                    post_id,
                    (
                        f'{{"id":"{post_id}","created_at":"{_timestamp(seconds)}",'
                        f'"in_reply_to_id":{_json_or_null(reply_to)},'
                        f'"in_reply_to_account_id":{_json_or_null(week.reply_to_accounts[index])},'
                        f'"sensitive":false,"spoiler_text":"","visibility":"public","language":"{self.language}",'
                        f'"url":"{BASE_URL}/@{self.acct}/{post_id}",'
                        f'"replies_count":{sum(1 for moment in week.reply_seconds[index] if moment < high)},'
                        f'"reblogs_count":{int(week.reblogs[index] * min(1.0, age_hours / 72))},'
                        f'"favourites_count":{int(week.favourites[index] * min(1.0, age_hours / 72))},'
                        f'"edited_at":null,'
                        f'"content":"{"" if kind == _REPOST else week.texts[index]}",'
                        f'"reblog":{shared if kind == _REPOST else "null"},'
                        f'"quote":{_quote_json(shared) if kind == _QUOTE else "null"},'
                        f'"account":{account},"media_attachments":[{media}],"mentions":[]}}'
                    ).encode(),
                )
            )
        return found

    def _mentions_json(self, week: _Week, low: float, high: float) -> list[tuple[float, str, bytes]]:
        found = []
        mention = (
            f'[{{"id":"{self.id}","username":"{self.acct}","acct":"{self.acct}",'
            f'"url":"{BASE_URL}/@{self.acct}"}}]'
        )
        for index in ((week.public_seconds >= low) & (week.public_seconds < high)).nonzero()[0]:
            seconds = float(week.public_seconds[index])
            post_id = str(week.public_ids[index])
            author_number = int(week.public_authors[index])
            author = f'{{"id":"{_member_id(author_number)}","acct":"member_{author_number}@example.social"}}'
            reply_to = week.public_reply_to[index]
            quote = (
                _quote_json(f'{{"id":"{reply_to}","account":{{"id":"{self.id}","acct":"{self.acct}"}}}}')
                if week.public_kinds[index] == _PUBLIC_QUOTE
                else "null"
            )
            is_reply = week.public_kinds[index] == _REPLY
            created = _timestamp(seconds)
            found.append(
                (
                    seconds,
                    post_id,
                    (
                        f'{{"id":"{post_id}1","type":"mention","created_at":"{created}","account":{author},'
                        f'"status":{{"id":"{post_id}","created_at":"{created}","account":{author},'
                        f'"in_reply_to_id":{_json_or_null(reply_to if is_reply else None)},'
                        f'"in_reply_to_account_id":{_json_or_null(self.id if is_reply else None)},'
                        f'"visibility":"public","language":"{self.language}",'
                        f'"content":"{week.public_texts[index]}","quote":{quote},"mentions":{mention}}}}}'
                    ).encode(),
                )
            )
        return found


_ALT_TEXT_JSON: Final = json.dumps(_ALT_TEXT)


def _quote_json(quoted_status: str) -> str:
    """A Mastodon Quote (4.5) around a quoted status's JSON, accepted by its author."""
    return f'{{"state":"accepted","quoted_status":{quoted_status}}}'


def _json_or_null(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'


def _member_id(number: int) -> str:
    return str(10**15 + number)


def _timestamp(seconds_since_start: float) -> str:
    moment = SCALE_START + timedelta(seconds=seconds_since_start)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.000Z"


def _rng(seed: str, *numbers: int) -> np.random.Generator:
    import numpy as np

    digest = hashlib.sha256(":".join([seed, *map(str, numbers)]).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _activity(seed: str, number: int) -> float:
    """How active an account is, relative to the profile's means (0.25 to 1.75, mean 1)."""
    return 0.25 + 1.5 * float(_rng(seed, number).random())


def _generate_week(seed: str, number: int, week_index: int, profile: ScaleProfile, activity: float) -> _Week:
    """Week ``week_index`` (since SCALE_START) of account ``number``: the same for any window."""
    rng = _rng(seed, number, week_index)
    start = week_index * _WEEK_SECONDS
    prefix = f"{number:07d}{week_index:04d}"

    # The public's posts: replies to the account's posts, mentions, quotes; some ask questions.
    public_count = int(rng.poisson(profile.public_posts_per_week * activity))
    public_seconds = start + rng.uniform(0, _WEEK_SECONDS, public_count).round()
    public_kinds = rng.choice(3, public_count, p=[0.6, 0.35, 0.05])
    is_question = rng.random(public_count) < profile.question_share
    public_authors = rng.integers(0, _MEMBERS, public_count)
    text_choice = rng.integers(0, 3, public_count)
    public_ids = [f"9{prefix}{index:05d}" for index in range(public_count)]

    # The account's posts, then its answers to some of the questions.
    post_count = int(rng.poisson(profile.posts_per_week * activity))
    shares = [profile.repost_share, profile.quote_share, profile.partner_reply_share]
    post_kinds = rng.choice(4, post_count, p=[1 - sum(shares), *shares])
    post_seconds = start + rng.uniform(0, _WEEK_SECONDS, post_count).round()
    answered = is_question & (rng.random(public_count) < profile.answered_share)
    delays = rng.exponential(profile.mean_answer_delay_hours * 3600, public_count).round() + 60
    answer_seconds = (public_seconds + delays)[answered]
    total = post_count + int(answered.sum())
    post_ids = [f"{prefix}{index:05d}" for index in range(total)]

    # Public replies go to an earlier post of the account this week, else they mention it.
    reply_to: list[str | None] = []
    reply_seconds: list[list[int]] = [[] for _ in range(total)]
    order = post_seconds.argsort()
    sorted_seconds = post_seconds[order]
    for index in range(public_count):
        target = int(sorted_seconds.searchsorted(public_seconds[index])) - 1
        if public_kinds[index] != _MENTION and target >= 0:
            position = int(order[rng.integers(0, target + 1)])
            reply_to.append(post_ids[position])
            reply_seconds[position].append(int(public_seconds[index]))
        else:
            public_kinds[index] = _MENTION
            reply_to.append(None)
    public_texts = [
        (_QUESTION_TEXTS if is_question[index] else _PUBLIC_TEXTS)[int(text_choice[index])]
        for index in range(public_count)
    ]

    import numpy as np

    answered_indexes = answered.nonzero()[0]
    kinds = np.concatenate([post_kinds, np.full(len(answered_indexes), _PARTNER_REPLY)])
    reply_to_ids: list[str | None] = [
        f"{rng.integers(10**15, 10**16)}" if kind == _PARTNER_REPLY else None for kind in post_kinds
    ] + [public_ids[int(index)] for index in answered_indexes]
    reply_to_accounts: list[str | None] = [
        _member_id(int(rng.integers(0, _MEMBERS))) if kind == _PARTNER_REPLY else None for kind in post_kinds
    ] + [_member_id(int(public_authors[int(index)])) for index in answered_indexes]
    texts = np.array(_ORIGINAL_TEXTS, dtype=object)[rng.integers(0, len(_ORIGINAL_TEXTS), total)]
    texts[post_count:] = [_ANSWER_TEXTS[int(index) % 2] for index in answered_indexes]
    has_media = (kinds == _ORIGINAL) & (rng.random(total) < profile.media_share)
    media = np.where(has_media, rng.integers(1, 3, total), 0)
    alt_texts = np.where(rng.random(total) < profile.alt_text_share, media, 0)
    return _Week(
        post_ids=np.array(post_ids, dtype=object),
        post_seconds=np.concatenate([post_seconds, answer_seconds]),
        post_kinds=kinds,
        reply_to_ids=reply_to_ids,
        reply_to_accounts=reply_to_accounts,
        shared_ids=rng.integers(10**15, 10**16, total),
        texts=texts,
        media=media,
        alt_texts=alt_texts,
        reblogs=rng.poisson(3 * activity, total),
        favourites=rng.poisson(12 * activity, total),
        reply_seconds=reply_seconds,
        public_ids=np.array(public_ids, dtype=object),
        public_seconds=public_seconds,
        public_kinds=public_kinds,
        public_authors=public_authors,
        public_texts=public_texts,
        public_reply_to=reply_to,
    )


# --------------------------------------------------------------------------- a whole world


def write_registry(path: Path, accounts: int) -> Path:
    """Write a registry of ``accounts`` scale organizations (one demo account each) to ``path``."""
    bands = ("small", "medium", "large")
    groups = ("public-services", "business", "community", "culture")
    lines = ["# Generated by rapport simulate: scale organizations of the demo platform.", "organizations:"]
    for number in range(1, accounts + 1):
        lines += [
            f"  - id: scale-{number:06d}",
            f"    name: Scale organization {number}",
            f"    peer_group: {groups[number % len(groups)]}",
            f"    size_band: {bands[number % len(bands)]}",
            f"    language: {'fr' if number % 3 == 0 else 'en'}",
            "    accounts:",
            "      - platform: demo",
            f'        handle: "{scale_handle(number)}"',
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def land_world(
    landing_dir: Path,
    accounts: Sequence[Account],
    since: datetime,
    until: datetime,
    *,
    replies_since: datetime | None = None,
    processes: int | None = None,
) -> dict[str, int]:
    """Land one extraction of [since, until) for each scale account, in ``processes`` processes.

    ``replies_since``: the notifications are read from there (``Window.replies_since``).

    Each is exactly what the nightly run's extract step lands for that
    window (same pages, same manifest). The landing zone syncs every file
    to disk, so the default runs four processes a core: they wait on the
    disk more than they compute. Returns the number of extractions, pages
    and bytes landed.
    """
    workers = processes or 4 * (os.cpu_count() or 1)
    chunks = [list(accounts[start::workers]) for start in range(workers)]
    totals = {"extractions": 0, "pages": 0, "bytes": 0}
    with ProcessPoolExecutor(workers) as pool:
        window = Window(since, until, replies_since)
        for counts in pool.map(_land_accounts, [landing_dir] * workers, chunks, [window] * workers):
            for key, value in counts.items():
                totals[key] += value
    return totals


def _land_accounts(landing_dir: Path, accounts: list[Account], window: Window) -> dict[str, Any]:
    from rapport.landing import land_extraction
    from rapport.sources.demo import extract

    counts = {"extractions": 0, "pages": 0, "bytes": 0}
    until = window.until
    for account in accounts:
        extraction = land_extraction(
            landing_dir, account, until.date(), window, until, extract(account, window)
        )
        counts["extractions"] += 1
        counts["pages"] += len(extraction.pages)
        counts["bytes"] += sum(page["bytes"] for page in extraction.pages)
    return counts
