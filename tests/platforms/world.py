"""A small, deterministic social world that the local Mastodon and Bluesky servers serve.

The world holds organization accounts ``org001`` .. ``orgNNN`` over ``weeks``
weeks ending at ``until``. Each account gets its own random stream,
``random.Random(f"{seed}:{handle}")``, so adding accounts never changes the
ones already there. An account's conversation holds:

- original posts, a few with images (alt text present, missing or blank),
  links (some with a preview card), hashtags and mentions of partners;
- threads: an original followed by replies to itself ("2/3", "3/3");
- the public's replies, some of them questions ("?"), and the organization's
  answers after an account-specific delay (some questions never answered);
- reposts (boosts) and quotes of partners' posts, one quote of a deleted post;
- a few edited posts; one deleted public question inside a thread whose
  answer remains; one reply whose author blocks the viewer (Bluesky's
  ``blockedPost``); sometimes a deleted part of a self-thread;
- text with emoji (ZWJ sequences), right-to-left scripts and HTML-special
  characters (``<script>`` as text).

The handle ``unknown`` is never an account (the servers answer 404 / 400),
and handles listed in ``failing`` are answered 503 forever.

This module is plain Python: it knows nothing of the rapport package nor of
HTTP. Its last section holds what both servers share: the request log, the
rate-limit window and the background thread; werkzeug is imported only there.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Self

DEFAULT_UNTIL = datetime(2026, 11, 23, tzinfo=UTC)
DEFAULT_WEEKS = 26
DEFAULT_ACCOUNTS = 50
UNKNOWN_HANDLE = "unknown"

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WEEK_MS = 7 * 24 * 3600 * 1000
MINUTE_MS = 60 * 1000
HOUR_MS = 60 * MINUTE_MS
MAX_ACCOUNTS = 999
"""Account numbers are packed into 10 bits of every Mastodon id (see ``mastodon_server``)."""

SegmentKind = Literal["text", "mention", "link", "tag"]
PostKind = Literal["original", "reply", "self_reply", "repost", "quote"]


# --- the world's things ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who posts: an organization, a member of the public or a partner institution."""

    number: int
    """Unique in the world; platform ids are derived from it."""
    handle: str
    """The username (lowercase ASCII): ``org001``, ``camille_42``."""
    display_name: str
    domain: str | None
    """The Mastodon instance of a remote person; ``None`` for one on the server itself."""
    is_organization: bool
    created_at: datetime
    followers_count: int
    following_count: int
    bio: str


@dataclass(frozen=True, slots=True)
class Image:
    """An image attached to a post."""

    number: int
    alt: str | None
    """The description: ``None`` when none was written; may be blank (``"   "``)."""
    width: int
    height: int
    size: int

    @property
    def has_alt_text(self) -> bool:
        return self.alt is not None and self.alt.strip() != ""


@dataclass(frozen=True, slots=True)
class LinkCard:
    """The preview of a post's first link (Mastodon's ``card``, Bluesky's external embed)."""

    url: str
    title: str
    description: str


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a post's text: plain text, a mention, a link or a hashtag.

    The servers render segments their own way: Mastodon as sanitized HTML with
    ``h-card`` mentions and hashtag links, Bluesky as plain text with facets.
    """

    kind: SegmentKind
    value: str
    """The text, the URL, the tag name (without ``#``) or the mentioned handle."""
    person: Person | None = None


@dataclass(eq=False, slots=True)
class Post:
    """A post, a reply, a repost (boost) or a quote, in the conversation of one organization."""

    number: int
    account: str
    """The organization whose conversation this is (also for the public's replies and partners' posts)."""
    account_number: int
    author: Person
    created_at: datetime
    segments: tuple[Segment, ...] = ()
    language: str | None = None
    parent: Post | None = None
    reposted: Post | None = None
    quoted: Post | None = None
    images: tuple[Image, ...] = ()
    card: LinkCard | None = None
    edited_at: datetime | None = None
    is_deleted: bool = False
    is_blocked: bool = False
    """Its author blocks the viewer: Bluesky shows a ``blockedPost`` in its place."""
    like_count: int = 0
    repost_count: int = 0
    quote_count: int = 0
    replies: list[Post] = field(default_factory=list)
    """Direct replies, oldest first, deleted ones included."""

    @property
    def kind(self) -> PostKind:
        if self.reposted is not None:
            return "repost"
        if self.parent is not None:
            return "self_reply" if self.parent.author is self.author else "reply"
        if self.quoted is not None:
            return "quote"
        return "original"

    @property
    def text(self) -> str:
        """The plain text, mentions as ``@handle`` and tags as ``#tag``."""
        parts = []
        for segment in self.segments:
            if segment.kind == "mention":
                parts.append(f"@{segment.value}")
            elif segment.kind == "tag":
                parts.append(f"#{segment.value}")
            else:
                parts.append(segment.value)
        return "".join(parts)

    @property
    def root(self) -> Post:
        post = self
        while post.parent is not None:
            post = post.parent
        return post

    @property
    def is_question(self) -> bool:
        return "?" in self.text

    @property
    def mentions(self) -> list[Person]:
        return [segment.person for segment in self.segments if segment.person is not None]

    @property
    def links(self) -> list[str]:
        return [segment.value for segment in self.segments if segment.kind == "link"]

    @property
    def tags(self) -> list[str]:
        return [segment.value for segment in self.segments if segment.kind == "tag"]

    @property
    def visible_replies(self) -> list[Post]:
        return [reply for reply in self.replies if not reply.is_deleted]

    @property
    def reply_count(self) -> int:
        return len(self.visible_replies)

    @property
    def created_ms(self) -> int:
        return (self.created_at - EPOCH) // timedelta(milliseconds=1)

    def __repr__(self) -> str:
        return f"Post({self.number}, {self.kind}, @{self.author.handle}, {self.created_at:%Y-%m-%d %H:%M})"


@dataclass(eq=False, slots=True)
class Account:
    """One organization and the whole conversation around it."""

    number: int
    person: Person
    language: str
    responsiveness: float
    """Probability that a question from the public gets an answer."""
    posts: list[Post]
    """Every post of the conversation, oldest first: the organization's, the public's, the partners'."""

    @property
    def handle(self) -> str:
        return self.person.handle

    @property
    def authored(self) -> list[Post]:
        """The organization's own posts and reposts, deleted ones included, oldest first."""
        return [post for post in self.posts if post.author is self.person]

    def timeline(self) -> list[Post]:
        """What the platform lists for the account: its posts and reposts that still exist, newest first."""
        return sorted(
            (post for post in self.posts if post.author is self.person and not post.is_deleted),
            key=lambda post: post.created_at,
            reverse=True,
        )

    def threads(self) -> list[Post]:
        """The organization's posts that have replies, newest first."""
        return [post for post in self.timeline() if post.reposted is None and post.visible_replies]


@dataclass(eq=False)
class World:
    """The generated world: accounts by handle, posts by number, people by number."""

    seed: int | str
    until: datetime
    weeks: int
    accounts: dict[str, Account]
    failing: frozenset[str]
    posts: dict[int, Post]
    people: dict[int, Person]

    @classmethod
    def generate(
        cls,
        accounts: int = DEFAULT_ACCOUNTS,
        weeks: int = DEFAULT_WEEKS,
        until: datetime = DEFAULT_UNTIL,
        seed: int | str = 0,
        failing: Iterable[str] = (),
    ) -> World:
        """Build ``accounts`` organizations (``org001``..) over ``weeks`` weeks ending at ``until``.

        ``until`` must be timezone-aware; nothing in the world is dated at or after it.
        ``failing`` names handles the servers answer 503 for. Raises ``ValueError``
        on an out-of-range argument.
        """
        if not 0 <= accounts <= MAX_ACCOUNTS:
            raise ValueError(f"accounts must be between 0 and {MAX_ACCOUNTS}, got {accounts}")
        if weeks < 1:
            raise ValueError(f"weeks must be at least 1, got {weeks}")
        if until.tzinfo is None:
            raise ValueError("until must be timezone-aware")
        until = until.astimezone(UTC)
        built = [
            _AccountBuilder(seed, number, f"org{number:03d}", until, weeks).build()
            for number in range(1, accounts + 1)
        ]
        posts: dict[int, Post] = {}
        people: dict[int, Person] = {}
        for account in built:
            for post in account.posts:
                posts[post.number] = post
                people[post.author.number] = post.author
                for person in post.mentions:
                    people[person.number] = person
            people[account.person.number] = account.person
        return cls(
            seed=seed,
            until=until,
            weeks=weeks,
            accounts={account.handle: account for account in built},
            failing=frozenset(handle.lower() for handle in failing),
            posts=posts,
            people=people,
        )

    @property
    def since(self) -> datetime:
        return self.until - timedelta(weeks=self.weeks)

    @property
    def handles(self) -> list[str]:
        return list(self.accounts)

    def account(self, handle: str) -> Account | None:
        """The account of that handle (case-insensitive), or ``None``."""
        return self.accounts.get(handle.lower())

    def is_failing(self, handle: str | None) -> bool:
        return handle is not None and handle.lower() in self.failing


# --- what the organizations and the public say --------------------------------------------

LANGUAGES = ("en", "fr", "de", "es")
LANGUAGE_WEIGHTS = (5, 3, 1, 1)

ORGANIZATION_KINDS = ("Library", "Transit", "Museum", "Theatre", "Clinic", "Energy", "Bank", "Council")
TOWNS = ("Lakeside", "Rivière", "Northwind", "Brookfield", "Altamira", "Eastgate", "Weißenbach", "Sólheim")
PUBLIC_NAMES = (
    "camille", "marc", "ines", "yusuf", "lena", "tomas", "aiko", "noor", "sofia", "david",
    "amara", "jonas", "chloe", "ravi", "mei", "olu", "hana", "pierre", "zeynep", "liam",
)  # fmt: skip
PARTNER_NAMES = ("city_archives", "museum_of_light", "town_hall", "river_festival", "open_university")
REMOTE_DOMAINS = ("piaille.example", "framapiaf.example", "social.example", "toot.example")
TAGS = ("community", "events", "accessibility", "opendata", "volunteers", "travaux", "kultur")

ORIGINALS = {
    "en": (
        "Our new reading garden opens on Saturday 🌿 Come by for free tea and a tour!",
        "Service update: trains run every 10 minutes all week.",
        "We are hiring two apprentices this spring. Applications close on Friday.",
        "Thank you to the 120 volunteers who helped this weekend 💚",
        "Opening hours change on public holidays; the full list is on our website.",
        "New accessible entrance on the north side, with a ramp and an automatic door.",
    ),
    "fr": (
        "Travaux sur la ligne B ce week-end : bus de remplacement entre Gare & Musée.",
        "Nouvelle exposition « Lumières » à partir de jeudi ✨",
        "Merci aux bénévoles pour cette belle journée !",
        "Nos horaires changent pendant les vacances scolaires.",
        "L'atelier d'écriture reprend le mardi à 18 h.",
    ),
    "de": (
        "Ab Montag gelten neue Öffnungszeiten 🕘",
        "Danke an alle Helferinnen und Helfer am Samstag!",
        "Die Sprechstunde fällt diese Woche aus.",
        "Neue Ausstellung im Foyer: Fotografien aus 100 Jahren.",
    ),
    "es": (
        "¡Nueva biblioteca de semillas en la planta baja! 🌱",
        "Horario especial durante las fiestas.",
        "Gracias a todas las personas voluntarias 💛",
        "Taller gratuito de fotografía el jueves por la tarde.",
    ),
}
QUESTIONS = {
    "en": (
        "Is the entrance accessible with a wheelchair?",
        "Do I need to book in advance?",
        "What time do you close on Sunday?",
        "Can I bring my dog?",
        "Is there parking nearby?",
        "Why was my bus cancelled this morning?",
    ),
    "fr": (
        "Est-ce que c'est accessible en fauteuil ?",
        "Faut-il réserver ?",
        "Vous fermez à quelle heure dimanche ?",
        "Les enfants peuvent venir ?",
    ),
    "de": ("Muss man sich anmelden?", "Ist der Eingang barrierefrei?", "Wann schließt ihr am Sonntag?"),
    "es": ("¿Hay que reservar?", "¿Es accesible en silla de ruedas?", "¿A qué hora cierran el domingo?"),
}
COMMENTS = {
    "en": ("Love this 😍", "Great news, thanks!", "See you there.", "This made my day.", "Finally!"),
    "fr": ("Super nouvelle, merci !", "On y sera.", "Bravo à toute l'équipe 👏", "Enfin !"),
    "de": ("Super, danke!", "Wir kommen vorbei.", "Toll 👏"),
    "es": ("¡Qué bien!", "Allí estaremos.", "¡Gracias! 👏"),
}
ANSWERS = {
    "en": (
        "Yes, level paths throughout and two accessible benches.",
        "No booking needed, just drop in.",
        "We close at 6 pm on Sundays.",
        "Sorry about that: a driver was ill. We have added a bus on that route.",
        "Yes! Water bowls at the door 🐶",
    ),
    "fr": ("Oui, tout est de plain-pied.", "Pas besoin de réserver.", "Nous fermons à 18 h le dimanche."),
    "de": ("Ja, alles ist barrierefrei.", "Keine Anmeldung nötig.", "Sonntags bis 18 Uhr."),
    "es": ("Sí, todo es accesible.", "No hace falta reservar.", "Cerramos a las 18 h el domingo."),
}
THANKS = {
    "en": ("Thanks for the quick answer!", "Perfect, thank you 🙏"),
    "fr": ("Merci pour la réponse rapide !", "Parfait, merci 🙏"),
    "de": ("Danke für die schnelle Antwort!",),
    "es": ("¡Gracias por la respuesta!",),
}
THREAD_PARTS = {
    "en": ("More details: the side door stays open until 8 pm.", "Timetables are online tonight."),
    "fr": ("Plus de détails : la porte latérale reste ouverte jusqu'à 20 h.", "Les horaires sont en ligne."),
    "de": ("Mehr dazu: Der Seiteneingang bleibt bis 20 Uhr offen.", "Fahrpläne folgen heute Abend."),
    "es": ("Más detalles: la puerta lateral abre hasta las 20 h.", "Los horarios, esta noche."),
}
QUOTE_COMMENTS = {
    "en": ("Proud to have been part of this 👇", "Worth a read.", "Great work by our partners!"),
    "fr": ("Fiers d'avoir participé 👇", "À lire absolument.", "Bravo à nos partenaires !"),
    "de": ("Stolz, dabei gewesen zu sein 👇", "Lesenswert."),
    "es": ("¡Orgullosos de haber participado! 👇", "Merece la pena leerlo."),
}
PARTNER_POSTS = (
    "120 years of lakeside photos are now online: 4,300 images, free to browse and reuse.",
    "Festival programme announced! Tickets on sale Monday.",
    "The town hall is open late on Thursdays from now on.",
    "Nouvelle saison, nouveaux horaires ✨",
)
ALT_TEXTS = (
    "Wooden benches among raised flower beds outside the building",
    "Map of the replacement bus route between the station and the museum",
    "Volunteers in green shirts smiling in front of a stall",
    "Poster of the exhibition: a lighthouse at night",
)
CARD_TITLES = ("Opening hours", "Works on line B", "Volunteer with us", "Exhibition programme")

SPECIAL_TEXTS = (
    # HTML-special characters must arrive as text, never as markup.
    "Workshop tonight <script>alert('rapport')</script> & \"quotes\" — AT&T <b>not bold</b> 1 < 2 > 0",
    # Right-to-left scripts next to left-to-right text.
    "مرحبا بكم في المكتبة 📚 — שלום לכולם! Welcome everyone.",
    # Emoji with skin tones, ZWJ sequences and flags: several UTF-16 and UTF-8 units each.
    "🎉🎉 Thank you all! 👩🏽‍💻🏳️‍🌈 🇫🇷🇩🇪 ❤️‍🔥",
)


# --- generation -----------------------------------------------------------------------------


class _AccountBuilder:
    """Generates one organization's conversation from its own random stream."""

    def __init__(self, seed: int | str, number: int, handle: str, until: datetime, weeks: int) -> None:
        self.rng = random.Random(f"{seed}:{handle}")
        self.number = number
        self.handle = handle
        self.until_ms = (until - EPOCH) // timedelta(milliseconds=1)
        self.since_ms = self.until_ms - weeks * WEEK_MS
        self.weeks = weeks
        self.used_ms: set[int] = set()
        self.posts: list[Post] = []
        self.post_sequence = 0
        self.person_sequence = 0
        self.image_sequence = 0

    # Identity and time.

    def _person(self, handle: str, display_name: str, domain: str | None, *, organization: bool) -> Person:
        self.person_sequence += 1
        rng = self.rng
        created_ms = self.since_ms - rng.randrange(30, 3000) * 24 * HOUR_MS
        return Person(
            number=self.number * 1000 + self.person_sequence,
            handle=handle,
            display_name=display_name,
            domain=domain,
            is_organization=organization,
            created_at=_datetime(created_ms - created_ms % 1000),
            followers_count=rng.randrange(2000, 40000) if organization else rng.randrange(5, 800),
            following_count=rng.randrange(50, 600),
            bio="",
        )

    def _unique_ms(self, ms: int) -> int:
        # Unique times per account make ids, TIDs and feed cursors unique without a tie-breaker.
        while ms in self.used_ms:
            ms += 1
        self.used_ms.add(ms)
        return ms

    def _post(self, author: Person, ms: int, **fields: Any) -> Post:
        self.post_sequence += 1
        post = Post(
            number=self.number * 1_000_000 + self.post_sequence,
            account=self.handle,
            account_number=self.number,
            author=author,
            created_at=_datetime(self._unique_ms(ms)),
            **fields,
        )
        self.posts.append(post)
        if post.parent is not None:
            post.parent.replies.append(post)
        return post

    # Content.

    def _images(self) -> tuple[Image, ...]:
        rng = self.rng
        images = []
        for _ in range(rng.choices((1, 2, 3, 4), (5, 2, 1, 1))[0]):
            self.image_sequence += 1
            roll = rng.random()
            alt = rng.choice(ALT_TEXTS) if roll < 0.6 else (None if roll < 0.85 else "   ")
            width, height = rng.choice(((1600, 1200), (1080, 1350), (1200, 1200)))
            images.append(
                Image(
                    number=self.number * 100_000 + self.image_sequence,
                    alt=alt,
                    width=width,
                    height=height,
                    size=rng.randrange(80_000, 900_000),
                )
            )
        return tuple(images)

    def _original_segments(
        self, language: str, partners: list[Person]
    ) -> tuple[tuple[Segment, ...], str | None]:
        rng = self.rng
        segments = [Segment("text", rng.choice(ORIGINALS[language]))]
        if rng.random() < 0.15:
            partner = rng.choice(partners)
            segments += [
                Segment("text", " With "),
                Segment("mention", partner.handle, partner),
                Segment("text", "."),
            ]
        link = None
        if rng.random() < 0.3:
            link = f"https://{self.handle}.example/news/{rng.randrange(1000, 9999)}?utm_source=social&lang={language}"
            segments += [Segment("text", " "), Segment("link", link)]
        if rng.random() < 0.3:
            segments += [Segment("text", " "), Segment("tag", rng.choice(TAGS))]
        return tuple(segments), link

    # The conversation.

    def build(self) -> Account:
        rng = self.rng
        language = rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0]
        town = rng.choice(TOWNS)
        organization = self._person(
            self.handle, f"{town} {rng.choice(ORGANIZATION_KINDS)}", None, organization=True
        )
        public = [
            self._person(
                f"{name}_{rng.randrange(10, 99)}",
                name.capitalize() + rng.choice(("", "", " 🌻", " ✨")),
                rng.choice((None, None, *REMOTE_DOMAINS)),
                organization=False,
            )
            for name in rng.sample(PUBLIC_NAMES, 10)
        ]
        partners = [
            self._person(
                f"{name}_{rng.randrange(10, 99)}",
                name.replace("_", " ").title(),
                rng.choice(REMOTE_DOMAINS),
                organization=True,
            )
            for name in rng.sample(PARTNER_NAMES, 3)
        ]
        low, high = rng.choices(((0, 2), (2, 5), (4, 8)), (2, 5, 3))[0]
        responsiveness = rng.uniform(0.15, 0.95)
        answer_hours = rng.choice((0.5, 1.5, 4.0, 12.0, 36.0, 96.0))

        originals: list[Post] = []
        self_replies: list[Post] = []
        questions_answered: list[Post] = []
        public_replies: list[Post] = []
        for week in range(self.weeks):
            week_ms = self.since_ms + week * WEEK_MS
            for _ in range(rng.randint(low, high)):
                ms = week_ms + rng.randrange(7) * 24 * HOUR_MS + rng.randrange(7, 21) * HOUR_MS
                ms += rng.randrange(HOUR_MS)
                if ms >= self.until_ms:
                    continue
                segments, link = self._original_segments(language, partners)
                images = self._images() if rng.random() < 0.3 else ()
                card = None
                if link is not None and not images and rng.random() < 0.5:
                    card = LinkCard(link, rng.choice(CARD_TITLES), rng.choice(ORIGINALS[language]))
                post = self._post(
                    organization,
                    ms,
                    segments=segments,
                    language=language,
                    images=images,
                    card=card,
                    like_count=rng.randrange(0, 40),
                    repost_count=rng.randrange(0, 8),
                    quote_count=rng.choice((0, 0, 0, 1, 2)),
                )
                if rng.random() < 0.04:
                    edited_ms = post.created_ms + rng.randrange(2, 90) * MINUTE_MS
                    if edited_ms < self.until_ms:
                        post.edited_at = _datetime(edited_ms)
                originals.append(post)
                if rng.random() < 0.12:
                    self_replies += self._self_thread(post, language)
                for reply in self._public_replies(post, public, language):
                    public_replies.append(reply)
                    if self._answer(reply, organization, language, responsiveness, answer_hours, public):
                        questions_answered.append(reply)
            self._reposts_and_quotes(week_ms, organization, partners, language)

        self._mark_special(originals, questions_answered, public_replies, self_replies)
        self.posts.sort(key=lambda post: post.created_at)
        for post in self.posts:
            if len(post.replies) > 1:
                post.replies.sort(key=lambda reply: reply.created_at)
        return Account(
            number=self.number,
            person=organization,
            language=language,
            responsiveness=responsiveness,
            posts=self.posts,
        )

    def _self_thread(self, root: Post, language: str) -> list[Post]:
        rng = self.rng
        parts = rng.choice((2, 3))
        parent, made = root, []
        for index in range(2, parts + 1):
            ms = parent.created_ms + rng.randrange(1, 6) * MINUTE_MS
            if ms >= self.until_ms:
                break
            text = f"{index}/{parts} {rng.choice(THREAD_PARTS[language])}"
            parent = self._post(
                root.author, ms, segments=(Segment("text", text),), language=language, parent=parent
            )
            parent.like_count = rng.randrange(0, 5)
            made.append(parent)
        return made

    def _public_replies(self, post: Post, public: list[Person], language: str) -> list[Post]:
        rng = self.rng
        made = []
        for _ in range(rng.choices((0, 1, 2, 3, 4, 5), (35, 25, 18, 10, 7, 5))[0]):
            ms = post.created_ms + MINUTE_MS + int(rng.expovariate(1 / 90) * MINUTE_MS)
            if ms >= self.until_ms:
                continue
            pool = QUESTIONS if rng.random() < 0.45 else COMMENTS
            reply_language = language if rng.random() < 0.9 else "en"
            made.append(
                self._post(
                    rng.choice(public),
                    ms,
                    segments=(Segment("text", rng.choice(pool[reply_language])),),
                    language=reply_language if rng.random() < 0.9 else None,
                    parent=post,
                    like_count=rng.randrange(0, 4),
                )
            )
        return made

    def _answer(
        self,
        reply: Post,
        organization: Person,
        language: str,
        responsiveness: float,
        answer_hours: float,
        public: list[Person],
    ) -> bool:
        """Maybe answer a public reply, and maybe get thanked; True when a question got an answer."""
        rng = self.rng
        chance = responsiveness if reply.is_question else responsiveness * 0.3
        if rng.random() >= chance:
            return False
        delay_ms = int(answer_hours * HOUR_MS * rng.lognormvariate(0, 0.8)) + MINUTE_MS
        ms = reply.created_ms + delay_ms
        if ms >= self.until_ms:
            return False
        pool = ANSWERS if reply.is_question else COMMENTS
        answer = self._post(
            organization,
            ms,
            segments=(Segment("text", rng.choice(pool[language])),),
            language=language,
            parent=reply,
            like_count=rng.randrange(0, 6),
        )
        if rng.random() < 0.25:
            thanks_ms = ms + rng.randrange(2, 120) * MINUTE_MS
            if thanks_ms < self.until_ms:
                self._post(
                    reply.author,
                    thanks_ms,
                    segments=(Segment("text", rng.choice(THANKS[language])),),
                    language=language,
                    parent=answer,
                )
        return reply.is_question

    def _reposts_and_quotes(
        self, week_ms: int, organization: Person, partners: list[Person], language: str
    ) -> None:
        rng = self.rng
        for kind in ("repost", "repost", "quote"):
            if rng.random() >= (0.45 if kind == "repost" else 0.3):
                continue
            ms = week_ms + rng.randrange(WEEK_MS)
            if ms >= self.until_ms:
                continue
            partner = rng.choice(partners)
            original = self._post(
                partner,
                ms - rng.randrange(10 * MINUTE_MS, 48 * HOUR_MS),
                segments=(Segment("text", rng.choice(PARTNER_POSTS)),),
                language="en",
                like_count=rng.randrange(5, 200),
                repost_count=rng.randrange(1, 40),
                quote_count=rng.randrange(0, 4),
            )
            if kind == "repost":
                self._post(organization, ms, reposted=original)
            else:
                self._post(
                    organization,
                    ms,
                    segments=(Segment("text", rng.choice(QUOTE_COMMENTS[language])),),
                    language=language,
                    quoted=original,
                    like_count=rng.randrange(0, 20),
                    repost_count=rng.randrange(0, 5),
                )

    def _mark_special(
        self,
        originals: list[Post],
        questions_answered: list[Post],
        public_replies: list[Post],
        self_replies: list[Post],
    ) -> None:
        rng = self.rng
        for post, text in zip(rng.sample(originals, min(3, len(originals))), SPECIAL_TEXTS, strict=False):
            post.segments = (Segment("text", text),)
        # A deleted question whose answer remains: the answer's parent is gone.
        if questions_answered:
            rng.choice(questions_answered).is_deleted = True
        elif public_replies:
            rng.choice(public_replies).is_deleted = True
        still_there = [reply for reply in public_replies if not reply.is_deleted]
        if still_there:
            rng.choice(still_there).is_blocked = True
        if self_replies and rng.random() < 0.3:
            rng.choice(self_replies).is_deleted = True
        quotes = [post for post in self.posts if post.quoted is not None]
        if quotes and rng.random() < 0.5:
            rng.choice(quotes).quoted.is_deleted = True  # type: ignore[union-attr]


def _datetime(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def format_datetime(value: datetime) -> str:
    """``2026-11-22T18:31:40.512Z``: how both platforms write timestamps (milliseconds, UTC)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


# --- what both servers share: the request log, the rate-limit window, the thread ------------


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request a server received, and how it answered."""

    method: str
    path: str
    query: dict[str, str]
    """The query parameters (the last value of a repeated one)."""
    endpoint: str
    """What was asked: ``lookup``, ``statuses``, ``context`` / the XRPC method id; ``unknown`` otherwise."""
    account: str | None
    """The world handle the request is about (``org001``), when the server could tell."""
    status: int
    at: float
    """When it arrived, by the server's clock (epoch seconds)."""
    reset_at: float
    """When the rate-limit window announced in the answer ends (epoch seconds)."""


class RateLimitWindow:
    """A fixed window of ``limit`` requests, as the platforms count them.

    ``aligned`` windows start at multiples of the window length (Mastodon's
    Rack::Attack); otherwise a window starts with the first request after the
    previous one ended (Bluesky's rate-limiter-flexible). Every request counts,
    the refused ones too.
    """

    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float], *, aligned: bool
    ) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("the rate limit needs a positive budget and window")
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock
        self.aligned = aligned
        self.reset()

    def reset(self) -> None:
        self.used = 0
        self.window_end = float("-inf")

    def consume(self) -> tuple[bool, int, float, float]:
        """Count a request: (allowed, remaining, reset_at, now)."""
        now = self.clock()
        if now >= self.window_end:
            self.used = 0
            if self.aligned:
                self.window_end = (now // self.window_seconds + 1) * self.window_seconds
            else:
                self.window_end = now + self.window_seconds
        self.used += 1
        return self.used <= self.limit, max(self.limit - self.used, 0), self.window_end, now


@dataclass(frozen=True, slots=True)
class Answer:
    """What a server's handler decided: status, JSON body (or text), extra headers."""

    status: int
    body: Any
    headers: tuple[tuple[str, str], ...] = ()


class BackgroundServer:
    """A server serving in a daemon thread (``_server``, ``_thread``); a context manager around
    :meth:`start` and :meth:`stop`."""

    _server: Any = None
    _thread: threading.Thread | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class WsgiServer(BackgroundServer):
    """A WSGI application (:meth:`wsgi`) served by werkzeug on ``host``:``port`` (0: any free port)."""

    platform = "platform"
    host = "127.0.0.1"
    port = 0

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raise NotImplementedError

    def start(self) -> Self:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                pass

        self._server = make_server(
            self.host, self.port, self.wsgi, threaded=True, request_handler=QuietHandler
        )
        # A short poll interval makes stop() quick: tests start and stop servers often.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"{self.platform}-server",
            daemon=True,
        )
        self._thread.start()
        return self


class LocalPlatformServer(WsgiServer):
    """A platform API on 127.0.0.1, in a background thread, recording every request.

    Subclasses say what a request is about (:meth:`identify`), answer it
    (:meth:`dispatch`), and write their own rate-limit headers and 429 and 503
    answers. Use as a context manager::

        with MastodonServer(world) as server:
            requests.get(server.url + "/api/v1/accounts/lookup", params={"acct": "org001"})
            assert server.requests[0].account == "org001"
    """

    platform = "platform"
    aligned_windows = False

    def __init__(
        self,
        world: World,
        *,
        rate_limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.time,
        failing: Iterable[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.world = world
        self.window = RateLimitWindow(rate_limit, window_seconds, clock, aligned=self.aligned_windows)
        self.failing: set[str] = {
            handle.lower() for handle in (world.failing if failing is None else failing)
        }
        """Handles answered 503 forever; add to it at run time to make an account fail."""
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._log: list[RecordedRequest] = []
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # The log.

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order."""
        with self._lock:
            return list(self._log)

    @property
    def rate_limited(self) -> list[RecordedRequest]:
        """The requests answered 429."""
        return [request for request in self.requests if request.status == 429]

    def requests_for(self, account: str, endpoint: str | None = None) -> list[RecordedRequest]:
        """The requests about one world handle, optionally of one endpoint."""
        return [
            request
            for request in self.requests
            if request.account == account and (endpoint is None or request.endpoint == endpoint)
        ]

    def ignored_rate_limits(self) -> list[RecordedRequest]:
        """Requests sent after a 429 and before the reset that 429 announced: a client that did not wait."""
        ignored, blocked_until = [], float("-inf")
        for request in self.requests:
            if request.at < blocked_until:
                ignored.append(request)
            if request.status == 429:
                blocked_until = max(blocked_until, request.reset_at)
        return ignored

    def reset(self) -> None:
        """Forget the requests and start a fresh rate-limit window."""
        with self._lock:
            self._log.clear()
            self.window.reset()

    # Handling.

    def identify(self, method: str, path: str, query: dict[str, str]) -> tuple[str, str | None]:
        """Return (endpoint, world handle or None) for a request, before it is answered."""
        raise NotImplementedError

    def dispatch(self, request: Any, endpoint: str) -> Answer:
        raise NotImplementedError

    def rate_limit_headers(self, remaining: int, reset_at: float) -> list[tuple[str, str]]:
        raise NotImplementedError

    def too_many_requests(self) -> Answer:
        raise NotImplementedError

    def unavailable(self) -> Answer:
        raise NotImplementedError

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from werkzeug.wrappers import Request

        request = Request(environ)
        query = {key: value for key, value in request.args.items(multi=True)}
        endpoint, account = self.identify(request.method, request.path, query)
        with self._lock:
            allowed, remaining, reset_at, now = self.window.consume()
        if not allowed:
            answer = self.too_many_requests()
        elif account is not None and account in self.failing:
            answer = self.unavailable()
        else:
            answer = self.dispatch(request, endpoint)
        with self._lock:
            self._log.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=query,
                    endpoint=endpoint,
                    account=account,
                    status=answer.status,
                    at=now,
                    reset_at=reset_at,
                )
            )
        if isinstance(answer.body, str):
            body, content_type = answer.body.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            body = json.dumps(answer.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            content_type = "application/json; charset=utf-8"
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        # A limit of the answer's own (a method's tighter one) replaces the server-wide headers.
        own = {name.lower() for name, _ in answer.headers}
        headers += [
            header for header in self.rate_limit_headers(remaining, reset_at) if header[0].lower() not in own
        ]
        headers += answer.headers
        start_response(f"{answer.status} {_REASONS.get(answer.status, 'Unknown')}", headers)
        return [body]

    # The thread.

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, once started."""
        if self._server is None:
            raise RuntimeError(f"the {self.platform} server is not started")
        return f"http://{self.host}:{self._server.server_port}"

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (the command line)."""
        if self._server is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


def iter_tree(post: Post, depth: int = 0) -> Iterator[tuple[Post, int]]:
    """The post and its replies, depth first, oldest sibling first, with their depth below ``post``."""
    yield post, depth
    for reply in post.replies:
        yield from iter_tree(reply, depth + 1)


def add_server_arguments(parser: Any, *, port: int, rate_limit: int, window: float) -> None:
    """The command-line options both local servers share (world size, failures, rate limit)."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--accounts", type=int, default=DEFAULT_ACCOUNTS)
    parser.add_argument("--weeks", type=int, default=DEFAULT_WEEKS)
    parser.add_argument("--until", type=datetime.fromisoformat, default=DEFAULT_UNTIL)
    parser.add_argument("--seed", default="0")
    parser.add_argument("--failing", action="append", default=[], help="a handle answered 503 (repeatable)")
    parser.add_argument("--rate-limit", type=int, default=rate_limit)
    parser.add_argument("--window", type=float, default=window, help="seconds")


def world_from_arguments(args: Any) -> tuple[World, datetime]:
    """The world the parsed options describe, and its end (UTC)."""
    until = args.until if args.until.tzinfo else args.until.replace(tzinfo=UTC)
    return World.generate(args.accounts, args.weeks, until, args.seed, args.failing), until
