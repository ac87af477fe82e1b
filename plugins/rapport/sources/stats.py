"""What an HTTP extraction cost: :class:`HttpStats`, light to import.

Apart from :mod:`rapport.sources.http` (which imports requests) so that a
platform's package can declare the statistics its ``extract_with_stats``
returns without importing its HTTP client: the DAG file reads every
platform's package when it is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rapport.thread_ledger import ThreadReport


@dataclass
class HttpStats:
    """What an extraction cost: attempts sent, retries, 429s received and seconds slept."""

    requests: int = 0
    """Attempts sent, including those that failed to connect or timed out."""
    retries: int = 0
    rate_limited: int = 0
    """429 responses received."""
    slept_seconds: float = 0.0
    """Backoff, Retry-After and pacing sleeps together."""
    threads: ThreadReport | None = None
    """What the extraction listed and read, for the thread ledger (``None`` for a source without
    reply threads): the :class:`~rapport.sources.contract.ExtractionCost` of the HTTP sources."""

    def counters(self) -> dict[str, Any]:
        """The four counters alone (a subclass's other fields left out), for the landing manifest."""
        return {
            "requests": self.requests,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "slept_seconds": self.slept_seconds,
        }
