"""Readers of Mastodon's payloads: what :func:`rapport.sources.mastodon.normalize` and the
extraction loop read from the bodies of REST API v1 (Status, Account, Context).

Each reader takes a :class:`~rapport.sources.payloads.JsonNode` and returns a
row of :mod:`rapport.records` (or what extraction needs), raising
``NormalizationError`` naming the page and field at fault. The demo platform,
which serves Mastodon's shapes, reads its statuses and its account with them.
Nothing here sends a request: importing this module is light.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote

from rapport.sources import Page, Row
from rapport.sources.mastodon.settings import (
    CONTEXT_ENDPOINT_PATTERN,
    QUOTE_FALLBACK_CLASS,
    STATUSES_ENDPOINT_PATTERN,
)
from rapport.sources.payloads import JsonNode, contains_question, count_alt_texts, read_html

if TYPE_CHECKING:
    from rapport.accounts import Account

STATUSES: Final = re.compile(STATUSES_ENDPOINT_PATTERN)
CONTEXT: Final = re.compile(CONTEXT_ENDPOINT_PATTERN)


# -- what extraction reads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedStatus:
    """What extraction needs of one status of a listing."""

    status_id: str
    author_id: str
    created_at: datetime
    reply_count: int
    is_reblog: bool
    is_direct: bool


def read_listing(root: JsonNode) -> list[ListedStatus]:
    """What extraction needs of each status of an ``accounts/:id/statuses`` page."""
    return [
        ListedStatus(
            status_id=node.get_str("id"),
            author_id=node.get_object("account").get_str("id"),
            created_at=node.get_timestamp("created_at"),
            reply_count=node.get_int("replies_count"),
            is_reblog=node.get_optional_object("reblog") is not None,
            is_direct=node.get_optional_str("visibility") == "direct",
        )
        for node in root.as_list()
    ]


def read_lookup(root: JsonNode) -> tuple[str, bool]:
    """The account's id, and whether its instance suspended it."""
    return root.get_str("id"), root.get_flag("suspended")


def covered_statuses(
    status_id: str, context: JsonNode, own_id: str, listed_count: int | None
) -> dict[str, int]:
    """The statuses whose thread a ``statuses/<id>/context`` read covers, with their reply count.

    A context holds every reply below its status: that status's thread is read
    (at ``listed_count``, its count as this extraction listed it; when it did
    not list it, a thread of the backlog, the replies the context holds directly
    under it), and so is the thread of each of the account's own statuses among
    its descendants (not a direct one). Not those among its ancestors: their
    other replies are not shown. The one definition of a thread read: normalize
    writes a ``thread_reads`` row for each, the extraction reports them to the
    thread ledger.
    """
    context.get_list("ancestors")
    descendants = context.get_list("descendants")
    shown = sum(1 for node in descendants if node.get_optional_str("in_reply_to_id") == status_id)
    covered = {status_id: shown if listed_count is None else listed_count}
    for node in descendants:
        if not is_direct(node) and node.get_object("account").get_str("id") == own_id:
            covered[node.get_str("id")] = node.get_int("replies_count")
    return covered


# -- what normalize reads ---------------------------------------------------------------------------


def page_labels(pages: Sequence[Page]) -> list[str]:
    """Name each page for error messages: ``accounts/109/statuses page 2 (max_id=115)``."""
    counts: dict[str, int] = {}
    labels = []
    for page in pages:
        if STATUSES.fullmatch(page.endpoint):
            counts[page.endpoint] = counts.get(page.endpoint, 0) + 1
            label = f"{page.endpoint} page {counts[page.endpoint]}"
            if "max_id" in page.params:
                label += f" (max_id={page.params['max_id']})"
            labels.append(label)
        else:
            labels.append(page.endpoint)
    return labels


def context_id(endpoint: str) -> str | None:
    """The status id of a ``statuses/<id>/context`` endpoint name; ``None`` for another endpoint."""
    match = CONTEXT.fullmatch(endpoint)
    return unquote(match["status_id"]) if match else None


def is_direct(node: JsonNode) -> bool:
    """Whether a status is a direct message (never read: not public)."""
    return node.get_optional_str("visibility") == "direct"


def read_account(node: JsonNode, account: Account, observed: datetime) -> Row:
    """An Account (``accounts/lookup``) as an ``account_snapshots`` row; it must be ``account``'s."""
    acct = node.get_str("acct")
    username = account.handle.lstrip("@")
    # Mastodon usernames are case-insensitive; a local account's acct is its bare username.
    if acct.split("@")[0].lower() != username.lower():
        node.fail(f"the page describes {acct[:40]!r}, not {account.handle!r}", "acct")
    moved = node.get_optional_object("moved")
    suspended = node.get_flag("suspended")
    # A suspended account shows 0 for every count and an empty profile: not a collapse, no counts.
    counts_shown = not suspended
    return {
        "platform": account.platform,
        "account_id": account.account_id,
        "account_native_id": node.get_str("id"),
        "handle": full_handle(acct, account),
        "display_name": node.get_optional_str("display_name") if counts_shown else None,
        "followers_count": node.get_int("followers_count") if counts_shown else None,
        "following_count": node.get_int("following_count") if counts_shown else None,
        "posts_count": node.get_int("statuses_count") if counts_shown else None,
        "account_created_at": node.get_optional_timestamp("created_at"),
        "account_state": "suspended" if suspended else "moved" if moved is not None else "active",
        "moved_to_handle": full_handle(moved.get_str("acct"), account) if moved is not None else None,
        "observed_at": observed,
    }


def full_handle(acct: str, account: Account) -> str:
    """``@user@host``: an ``acct`` is a bare username for accounts of the instance asked.

    For an account of a platform without instances (the demo's), a bare
    username is the handle: ``@user``.
    """
    if "@" in acct or account.instance is None:
        return f"@{acct}"
    return f"@{acct}@{account.instance}"


def read_quoted(quote: JsonNode | None) -> tuple[str | None, str | None]:
    """The id of a quoted status and of its author, as far as the quote shows them.

    A Quote holds ``quoted_status`` (null unless the quote is accepted); a
    ShallowQuote (a quote inside a quote) only ``quoted_status_id``.
    """
    if quote is None:
        return None, None
    quoted = quote.get_optional_object("quoted_status")
    if quoted is not None:
        return quoted.get_str("id"), quoted.get_object("account").get_str("id")
    return quote.get_optional_str("quoted_status_id"), None


def read_text(node: JsonNode, is_quote: bool) -> tuple[str, int, str]:
    """Plain text (the content warning first, when there is one), the number of links, and the
    text without the labels of its links (for :func:`contains_question`)."""
    content = node.get_str("content")
    if is_quote:
        content = strip_quote_fallback(content)
    html = read_html(content)
    spoiler = (node.get_optional_str("spoiler_text") or "").strip()
    text = f"{spoiler}\n\n{html.text}" if spoiler and html.text else spoiler or html.text
    return text, len(html.links), f"{spoiler}\n\n{html.text_outside_links}"


def read_post(node: JsonNode, account: Account, own_id: str, observed: datetime) -> Row:
    """One of the account's own Statuses as a ``posts`` row: original, reply, repost or quote."""
    reblog = node.get_optional_object("reblog")
    quote = node.get_optional_object("quote")
    in_reply_to_id = node.get_optional_str("in_reply_to_id")
    in_reply_to_account = node.get_optional_str("in_reply_to_account_id")
    if reblog is not None:
        post_type = "repost"
        shared_id: str | None = reblog.get_str("id")
        shared_account: str | None = reblog.get_object("account").get_str("id")
    else:
        post_type = "quote" if quote is not None else "reply" if in_reply_to_id is not None else "original"
        shared_id, shared_account = read_quoted(quote)
    is_reply = post_type == "reply"
    # A reblog's own content is empty: its text is the reblogged status's, not the account's.
    text, link_count, _ = (None, 0, "") if reblog is not None else read_text(node, quote is not None)
    mentions = node.get_list("mentions")
    for mention in mentions:
        mention.get_str("id")
    media = node.get_list("media_attachments")
    return {
        "platform": account.platform,
        "post_id": node.get_str("id"),
        "account_id": account.account_id,
        "created_at": node.get_timestamp("created_at"),
        "post_type": post_type,
        "text": text,
        "language": node.get_optional_str("language"),
        "in_reply_to_post_id": in_reply_to_id if is_reply else None,
        "in_reply_to_account_native_id": in_reply_to_account if is_reply else None,
        "is_reply_to_self": is_reply and in_reply_to_account == own_id,
        "reposted_post_id": shared_id,
        "reposted_account_native_id": shared_account,
        "mention_count": len(mentions),
        "link_count": link_count,
        "media_count": len(media),
        "media_with_alt_text_count": count_alt_texts(media),
        "reply_count": node.get_int("replies_count"),
        "repost_count": node.get_int("reblogs_count"),
        "like_count": node.get_int("favourites_count"),
        "edited_at": node.get_optional_timestamp("edited_at"),
        "is_deleted": False,
        "observed_at": observed,
    }


def read_interaction(
    node: JsonNode, account: Account, own_id: str, own_post_ids: set[str], observed: datetime
) -> Row | None:
    """A status of the public in a thread as an interaction; ``None`` when not addressed to the account."""
    node.get_object("account")
    in_reply_to_id = node.get_optional_str("in_reply_to_id")
    in_reply_to_account = node.get_optional_str("in_reply_to_account_id")
    quote = node.get_optional_object("quote")
    quoted_id, quoted_account = read_quoted(quote)
    mentioned = {mention.get_str("id") for mention in node.get_list("mentions")}
    # The parent's author says it is a reply to the account even when the parent itself is
    # missing from the thread (deleted posts are left out of a context).
    if in_reply_to_id is not None and (in_reply_to_account == own_id or in_reply_to_id in own_post_ids):
        interaction_type = "reply"
    elif quote is not None and (quoted_account == own_id or quoted_id in own_post_ids):
        interaction_type = "quote"
    elif own_id in mentioned:
        interaction_type = "mention"
    else:
        return None
    return interaction_row(node, account, interaction_type, observed)


def interaction_row(node: JsonNode, account: Account, interaction_type: str, observed: datetime) -> Row:
    """A status of the public as an ``interactions`` row of ``interaction_type`` (``reply``,
    ``quote`` or ``mention``: the caller tells which); a question has a ``?`` outside its links."""
    author = node.get_object("account")
    acct = author.get_optional_str("acct")
    in_reply_to_id = node.get_optional_str("in_reply_to_id")
    text, _, unlinked_text = read_text(node, node.get_optional_object("quote") is not None)
    return {
        "platform": account.platform,
        "interaction_id": node.get_str("id"),
        "account_id": account.account_id,
        "author_native_id": author.get_str("id"),
        "author_handle": full_handle(acct, account) if acct else None,
        "created_at": node.get_timestamp("created_at"),
        "interaction_type": interaction_type,
        "in_reply_to_post_id": in_reply_to_id if interaction_type == "reply" else None,
        "text": text,
        "language": node.get_optional_str("language"),
        "is_question": contains_question(unlinked_text),
        "observed_at": observed,
    }


class _QuoteFallbackFinder(HTMLParser):
    """Finds the source spans of the elements of class ``quote-inline``."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=False)
        self.html = html
        self.spans: list[tuple[int, int]] = []
        self._line_starts = [0] + [index + 1 for index, char in enumerate(html) if char == "\n"]
        self._open: tuple[str, int] | None = None  # tag and start offset of the element being skipped
        self._depth = 0

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._open is not None:
            if tag == self._open[0]:
                self._depth += 1
        elif QUOTE_FALLBACK_CLASS in (dict(attrs).get("class") or "").split():
            self._open, self._depth = (tag, self._offset()), 1

    def handle_endtag(self, tag: str) -> None:
        if self._open is None or tag != self._open[0]:
            return
        self._depth -= 1
        if self._depth == 0:
            end = self.html.find(">", self._offset())
            self.spans.append((self._open[1], len(self.html) if end == -1 else end + 1))
            self._open = None

    def close(self) -> None:
        super().close()
        if self._open is not None:
            self.spans.append((self._open[1], len(self.html)))
            self._open = None


def strip_quote_fallback(html: str) -> str:
    """Remove the ``quote-inline`` elements (``RE: <link>``) a server adds to a quote post's content."""
    if QUOTE_FALLBACK_CLASS not in html:
        return html
    finder = _QuoteFallbackFinder(html)
    finder.feed(html)
    finder.close()
    kept, position = [], 0
    for start, end in finder.spans:
        kept.append(html[position:start])
        position = end
    kept.append(html[position:])
    return "".join(kept)
