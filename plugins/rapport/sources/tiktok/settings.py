"""What the tiktok export formats feed, for the contract its ``__init__`` declares."""

from __future__ import annotations

from typing import Final

from rapport.sources.contract import Feed

NO_THREADS: Final = "the export counts comments but holds none of them"
NOT_LISTED: Final = "the file lists no video"


def daily(followers: Feed) -> tuple[Feed, ...]:
    """What a file of daily figures, listing no video, feeds: the followers at most."""
    return (
        Feed("answered_question_share", False, NO_THREADS),
        Feed("response_time", False, NO_THREADS),
        Feed("trust_presence", False, NOT_LISTED),
        Feed("dialogue_share", False, NOT_LISTED),
        Feed("own_news_share", False, NOT_LISTED),
        Feed("directed_at_others_share", False, NOT_LISTED),
        Feed("non_promotional_share", False, NOT_LISTED),
        Feed("effort", False, NOT_LISTED),
        Feed("accessibility_share", False, "no export gives captions or alt text"),
        followers,
    )
