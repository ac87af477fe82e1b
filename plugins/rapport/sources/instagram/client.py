"""The counters of one Instagram account's extraction; the calls are the shared Graph client's."""

from __future__ import annotations

from dataclasses import dataclass, field

from rapport.sources.graph import GraphStats
from rapport.thread_ledger import ThreadReport


@dataclass
class ExtractionStats(GraphStats):
    """What one extraction cost and did, filled in as its pages are consumed.

    Inherited: ``requests``, ``retries``, ``rate_limited`` (Graph's throttling answers), ``slept_seconds``,
    ``paced``, ``throttled``, ``usage_percent``, ``skipped`` (``tags`` without its permission). Added: the
    pages of each edge, and the media (or
    comments) deleted between their listing and their read (100/33, skipped).
    """

    media_pages: int = 0
    tag_pages: int = 0
    comment_pages: int = 0
    reply_pages: int = 0
    media_missing: int = 0
    threads: ThreadReport = field(default_factory=ThreadReport)
