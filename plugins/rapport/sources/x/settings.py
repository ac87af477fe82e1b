"""What the x export formats feed, for the contract its ``__init__`` declares."""

from __future__ import annotations

from typing import Final

from rapport.sources.contract import Feed

NO_THREADS: Final = "the export counts replies but holds none of them"


def feeds(*, text: str, mentions: bool) -> tuple[Feed, ...]:
    """What a file listing the account's posts (id, time, text, counts) feeds."""
    dated = "one row per post with its id and publish time"
    return (
        Feed("answered_question_share", False, NO_THREADS),
        Feed("response_time", False, NO_THREADS),
        Feed("trust_presence", True, dated),
        Feed(
            "dialogue_share",
            False,
            "a reply is listed (its text starts with @handle) without the post it answers",
        ),
        Feed("own_news_share", True, text),
        Feed(
            "directed_at_others_share",
            mentions,
            "the @handles the text keeps" if mentions else "the file holds no text",
        ),
        Feed("non_promotional_share", True, text),
        Feed("effort", True, dated),
        Feed("accessibility_share", False, "no export gives media or their alt text"),
        Feed(
            "followers",
            False,
            "no total of followers: 'follows' / 'New follows' are what each post brought",
        ),
    )
