"""The counters of one Page's extraction; the calls are :class:`rapport.sources.graph.GraphClient`'s."""

from __future__ import annotations

from dataclasses import dataclass, field

from rapport.sources.graph import GraphStats
from rapport.thread_ledger import ThreadReport


@dataclass
class ExtractionStats(GraphStats):
    """What one extraction cost and did, filled in as its pages are consumed.

    Inherited: ``requests``, ``retries``, ``rate_limited`` (Graph's throttling answers), ``slept_seconds``,
    ``paced``, ``throttled``, ``usage_percent``, ``skipped`` (``tagged`` without its permission). Added:
    the pages of each edge, and the posts whose comments could not be read because the post was deleted
    meanwhile.
    """

    posts_pages: int = 0
    tagged_pages: int = 0
    comment_pages: int = 0
    posts_listed: int = 0
    posts_missing: int = 0
    threads: ThreadReport = field(default_factory=ThreadReport)
