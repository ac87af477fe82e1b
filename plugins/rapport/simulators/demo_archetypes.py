"""The eight organizations of the demo world: when the world starts, how each behaves.

The eight archetypes below are the eight organizations of ``config/accounts.yml``.
Each is tuned so that one relationship indicator singles it out (see
``rapport/sources/demo/README.md``); change a number here and the demo's
ranking may change with it. :mod:`rapport.simulators.demo_world` generates
their days from these numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

DEMO_START: Final = datetime(2026, 5, 25, tzinfo=UTC)
"""Monday of ISO week 2026-W22: nothing exists on the demo platform before it."""

GENERATION_LOOKBACK: Final = timedelta(days=7)
"""How far before a window's start generation begins.

An item generated on day d is published at most six days later (a public reply
up to two days after a post, an answer up to three days after that), so seven
days before ``since`` catches every item published inside the window.
"""

MAX_PUBLIC_REPLY_DELAY_MINUTES: Final = 2 * 24 * 60
MAX_ANSWER_DELAY_MINUTES: Final = 3 * 24 * 60


@dataclass(frozen=True)
class Phase:
    """A stretch of an archetype's life, from ``first_week`` (0 = the week of DEMO_START) on."""

    first_week: int
    activity: float
    """Multiplies the organization's chance of posting on a given day (0 = silence)."""
    public: float
    """Multiplies how often the public writes to the organization."""
    followers_per_week: float


@dataclass(frozen=True)
class Archetype:
    """How one demo organization behaves: its posting, its public and its answers.

    Shares are probabilities per item; rates are mean counts (Poisson draws).
    """

    number: int
    """Two digits of every status id the account generates, keeping ids globally unique."""
    name: str
    topic: str
    """Key of the organization's texts in the client (transit, bank, theatre...)."""
    display_name: str
    size_band: str
    language: str
    created_at: datetime
    followers_at_start: int
    """Followers at DEMO_START, or at creation for an account created later."""
    following_count: int
    statuses_before_start: int
    active_weekdays: tuple[float, float, float, float, float, float, float]
    """Chance of posting on each weekday, Monday first."""
    extra_posts_per_active_day: float
    """Posts on an active day are 1 plus a Poisson draw of this mean."""
    repost_share: float
    quote_share: float
    reply_to_others_share: float
    """Share of actions that reply to partners' posts (not answers to its own public)."""
    thread_share: float
    """Chance that an original post gets a follow-up reply to itself."""
    plans_share: float
    promo_share: float
    partner_share: float
    """Share of original posts that mention a partner account."""
    other_language_share: float
    media_share: float
    alt_text_share: float
    answer_share: float
    """Chance that a question of the public gets an answer."""
    answer_delay_minutes: tuple[float, float]
    """Answer delays are drawn log-uniformly between these bounds."""
    public_replies_per_post: float
    public_mentions_per_day: float
    public_quotes_per_post: float
    question_share: float
    phases: tuple[Phase, ...]

    def phase_at_week(self, week: int) -> Phase:
        """Return the phase a week (0 = the week of DEMO_START) belongs to."""
        current = self.phases[0]
        for phase in self.phases:
            if phase.first_week <= week:
                current = phase
        return current


_EVERY_DAY: Final = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)

ARCHETYPES: Final[dict[str, Archetype]] = {
    archetype.name: archetype
    for archetype in (
        # Responsive and regular: answers nearly every question within the hour.
        Archetype(
            number=1,
            name="riviere_transit",
            topic="transit",
            display_name="Rivière Transit",
            size_band="large",
            language="fr",
            created_at=datetime(2017, 3, 14, tzinfo=UTC),
            followers_at_start=48_200,
            following_count=310,
            statuses_before_start=12_480,
            active_weekdays=(0.97, 0.97, 0.97, 0.97, 0.97, 0.9, 0.85),
            extra_posts_per_active_day=0.1,
            repost_share=0.03,
            quote_share=0.0,
            reply_to_others_share=0.0,
            thread_share=0.2,
            plans_share=0.12,
            promo_share=0.0,
            partner_share=0.05,
            other_language_share=0.1,
            media_share=0.45,
            alt_text_share=0.35,
            answer_share=0.95,
            answer_delay_minutes=(15, 90),
            public_replies_per_post=1.3,
            public_mentions_per_day=1.6,
            public_quotes_per_post=0.08,
            question_share=0.55,
            phases=(Phase(0, 1.0, 1.0, 210),),
        ),
        # Pure broadcaster: promotional posts on weekdays, never a reply, repost or mention.
        Archetype(
            number=2,
            name="northwind_bank",
            topic="bank",
            display_name="Northwind Bank",
            size_band="large",
            language="en",
            created_at=datetime(2018, 9, 3, tzinfo=UTC),
            followers_at_start=61_400,
            following_count=12,
            statuses_before_start=8_950,
            active_weekdays=(1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0),
            extra_posts_per_active_day=2.0,
            repost_share=0.0,
            quote_share=0.0,
            reply_to_others_share=0.0,
            thread_share=0.0,
            plans_share=0.0,
            promo_share=0.75,
            partner_share=0.0,
            other_language_share=0.05,
            media_share=0.6,
            alt_text_share=0.3,
            answer_share=0.0,
            answer_delay_minutes=(60, 600),
            public_replies_per_post=1.0,
            public_mentions_per_day=1.6,
            public_quotes_per_post=0.05,
            question_share=0.55,
            phases=(Phase(0, 1.0, 1.0, 85),),
        ),
        # Community-minded: reposts, partner mentions, replies on others' posts; never selling.
        Archetype(
            number=3,
            name="maison_quartiers",
            topic="community_centre",
            display_name="Maison des Quartiers",
            size_band="medium",
            language="fr",
            created_at=datetime(2019, 1, 21, tzinfo=UTC),
            followers_at_start=2_350,
            following_count=640,
            statuses_before_start=3_120,
            active_weekdays=(0.7, 0.75, 0.75, 0.7, 0.75, 0.5, 0.2),
            extra_posts_per_active_day=0.9,
            repost_share=0.35,
            quote_share=0.1,
            reply_to_others_share=0.2,
            thread_share=0.0,
            plans_share=0.1,
            promo_share=0.0,
            partner_share=0.65,
            other_language_share=0.05,
            media_share=0.4,
            alt_text_share=0.5,
            answer_share=0.7,
            answer_delay_minutes=(45, 1440),
            public_replies_per_post=0.7,
            public_mentions_per_day=0.6,
            public_quotes_per_post=0.05,
            question_share=0.5,
            phases=(Phase(0, 1.0, 1.0, 16),),
        ),
        # Under-invested for its size: one post on Tuesdays, images without alt text, rare answers.
        Archetype(
            number=4,
            name="atlas_energy",
            topic="energy",
            display_name="Atlas Energy",
            size_band="large",
            language="en",
            created_at=datetime(2020, 6, 8, tzinfo=UTC),
            followers_at_start=35_800,
            following_count=45,
            statuses_before_start=640,
            active_weekdays=(0.0, 0.85, 0.0, 0.0, 0.0, 0.0, 0.0),
            extra_posts_per_active_day=0.0,
            repost_share=0.0,
            quote_share=0.0,
            reply_to_others_share=0.0,
            thread_share=0.0,
            plans_share=0.3,
            promo_share=0.1,
            partner_share=0.0,
            other_language_share=0.0,
            media_share=0.8,
            alt_text_share=0.0,
            answer_share=0.1,
            answer_delay_minutes=(1440, MAX_ANSWER_DELAY_MINUTES),
            public_replies_per_post=1.2,
            public_mentions_per_day=1.0,
            public_quotes_per_post=0.1,
            question_share=0.6,
            phases=(Phase(0, 1.0, 1.0, 20),),
        ),
        # Campaign burst then silence: weeks 1-5 near nothing, 6-11 a burst, from 12 on silence.
        Archetype(
            number=5,
            name="festival_lumiere",
            topic="festival",
            display_name="Festival Lumière",
            size_band="medium",
            language="fr",
            created_at=datetime(2018, 4, 2, tzinfo=UTC),
            followers_at_start=5_200,
            following_count=280,
            statuses_before_start=1_870,
            active_weekdays=_EVERY_DAY,
            extra_posts_per_active_day=3.2,
            repost_share=0.05,
            quote_share=0.03,
            reply_to_others_share=0.02,
            thread_share=0.05,
            plans_share=0.2,
            promo_share=0.2,
            partner_share=0.15,
            other_language_share=0.1,
            media_share=0.7,
            alt_text_share=0.5,
            answer_share=0.7,
            answer_delay_minutes=(20, 480),
            public_replies_per_post=0.5,
            public_mentions_per_day=1.5,
            public_quotes_per_post=0.05,
            question_share=0.5,
            phases=(
                Phase(0, 0.05, 0.3, 10),
                Phase(5, 1.0, 1.0, 240),
                Phase(11, 0.0, 0.1, -4),
            ),
        ),
        # Open about its plans: roadmap and behind-the-scenes posts, answers a large share of its actions.
        Archetype(
            number=6,
            name="open_city_lab",
            topic="civic_tech",
            display_name="Open City Lab",
            size_band="medium",
            language="en",
            created_at=datetime(2021, 2, 15, tzinfo=UTC),
            followers_at_start=3_100,
            following_count=420,
            statuses_before_start=1_410,
            active_weekdays=(0.75, 0.8, 0.8, 0.75, 0.7, 0.0, 0.0),
            extra_posts_per_active_day=0.1,
            repost_share=0.05,
            quote_share=0.05,
            reply_to_others_share=0.0,
            thread_share=0.1,
            plans_share=0.8,
            promo_share=0.0,
            partner_share=0.1,
            other_language_share=0.1,
            media_share=0.5,
            alt_text_share=0.75,
            answer_share=0.85,
            answer_delay_minutes=(40, 480),
            public_replies_per_post=1.2,
            public_mentions_per_day=1.1,
            public_quotes_per_post=0.08,
            question_share=0.75,
            phases=(Phase(0, 1.0, 1.0, 32),),
        ),
        # Steady small organization: about five posts a week on four or five days, all alt text.
        Archetype(
            number=7,
            name="petit_theatre",
            topic="theatre",
            display_name="Le Petit Théâtre",
            size_band="small",
            language="fr",
            created_at=datetime(2019, 11, 5, tzinfo=UTC),
            followers_at_start=640,
            following_count=150,
            statuses_before_start=890,
            active_weekdays=(0.0, 0.92, 0.92, 0.92, 0.92, 0.92, 0.1),
            extra_posts_per_active_day=0.05,
            repost_share=0.05,
            quote_share=0.0,
            reply_to_others_share=0.03,
            thread_share=0.05,
            plans_share=0.12,
            promo_share=0.0,
            partner_share=0.1,
            other_language_share=0.05,
            media_share=0.85,
            alt_text_share=1.0,
            answer_share=0.85,
            answer_delay_minutes=(60, 720),
            public_replies_per_post=0.3,
            public_mentions_per_day=0.15,
            public_quotes_per_post=0.02,
            question_share=0.5,
            phases=(Phase(0, 1.0, 1.0, 4),),
        ),
        # A newcomer: the account is created on 2026-08-24 (week 14) and behaves moderately after.
        Archetype(
            number=8,
            name="green_valley",
            topic="food_coop",
            display_name="Green Valley Co-op",
            size_band="small",
            language="en",
            created_at=datetime(2026, 8, 24, tzinfo=UTC),
            followers_at_start=18,
            following_count=95,
            statuses_before_start=0,
            active_weekdays=(0.4, 0.4, 0.4, 0.4, 0.4, 0.5, 0.0),
            extra_posts_per_active_day=0.15,
            repost_share=0.1,
            quote_share=0.03,
            reply_to_others_share=0.05,
            thread_share=0.05,
            plans_share=0.2,
            promo_share=0.1,
            partner_share=0.2,
            other_language_share=0.05,
            media_share=0.5,
            alt_text_share=0.5,
            answer_share=0.65,
            answer_delay_minutes=(90, 1440),
            public_replies_per_post=0.4,
            public_mentions_per_day=0.2,
            public_quotes_per_post=0.03,
            question_share=0.5,
            phases=(Phase(0, 1.0, 1.0, 26),),
        ),
    )
}
"""The demo organizations by user name (the handle without its leading '@')."""
