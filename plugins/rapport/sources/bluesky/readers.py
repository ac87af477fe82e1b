"""Readers of Bluesky's payloads: what :func:`rapport.sources.bluesky.normalize` and the
extraction loop read from the XRPC bodies (profiles, feed items, threads).

Each reader takes a :class:`~rapport.sources.payloads.JsonNode` and returns a
row of :mod:`rapport.records` (or what extraction needs), raising
``NormalizationError`` naming the page and field at fault. Nothing here sends
a request: importing this module is light.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rapport.sources import Page, Row, empty_post
from rapport.sources.bluesky.settings import (
    BLOCKED_POST,
    EMBED_EXTERNAL,
    EMBED_IMAGES,
    EMBED_RECORD,
    EMBED_RECORD_WITH_MEDIA,
    EMBED_VIDEO,
    FACET_LINK,
    FACET_MENTION,
    NAME,
    NOT_FOUND_POST,
    POST_COLLECTION,
    REASON_PIN,
    REASON_REPOST,
    TAKEDOWN_LABEL,
    THREAD_VIEW_POST,
)
from rapport.sources.payloads import JsonNode, contains_question, without_byte_ranges

if TYPE_CHECKING:
    from rapport.accounts import Account


# -- what extraction reads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedEntry:
    """What paging and thread selection need from one feed item."""

    sort_at: datetime | None
    """Where the AppView sorts the item (None for a pinned item, which stands outside the order)."""
    own_post_uri: str | None
    """The post's URI when the account wrote it (not a repost)."""
    published_at: datetime
    reply_count: int
    thread_root_uri: str | None
    """The first post of the thread a reply belongs to (None for a post that is not a reply)."""


def read_feed_page(root: JsonNode, did: str) -> tuple[list[FeedEntry], str | None]:
    entries = []
    for item in root.get_list("feed"):
        post = item.get_object("post")
        published_at = _published_at(post)
        reason = item.get_optional_object("reason")
        reason_type = _type_of(reason) if reason is not None else None
        is_own = reason_type != REASON_REPOST and post.get_object("author").get_str("did") == did
        if reason is not None and reason_type == REASON_REPOST:
            sort_at: datetime | None = reason.get_timestamp("indexedAt")
        elif reason_type == REASON_PIN:
            sort_at = None
        else:
            sort_at = published_at
        reply = post.get_object("record").get_optional_object("reply")
        entries.append(
            FeedEntry(
                sort_at=sort_at,
                own_post_uri=post.get_str("uri") if is_own else None,
                published_at=published_at,
                reply_count=_count(post, "replyCount"),
                thread_root_uri=reply.get_object("root").get_str("uri") if reply is not None else None,
            )
        )
    return entries, root.get_optional_str("cursor")


# -- what normalize reads ---------------------------------------------------------------------------


def label_pages(pages: Sequence[Page]) -> list[tuple[Page, str]]:
    """Name each page for error messages: ``<endpoint> page <n>`` (n per endpoint), plus a thread's URI."""
    seen: dict[str, int] = {}
    labelled = []
    for page in pages:
        seen[page.endpoint] = seen.get(page.endpoint, 0) + 1
        label = f"{page.endpoint} page {seen[page.endpoint]}"
        if "uri" in page.params:
            label = f"{label} ({page.params['uri']})"
        labelled.append((page, label))
    return labelled


def error_name(page: Page) -> str | None:
    try:
        payload = json.loads(page.body)
    except (ValueError, RecursionError):
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, str) else None


def read_profile(node: JsonNode, account: Account, observed: datetime) -> Row:
    did = node.get_str("did")
    return {
        "platform": NAME,
        "account_id": account.account_id,
        "account_native_id": did,
        "handle": node.get_str("handle"),
        "display_name": node.get_optional_str("displayName") or None,
        "followers_count": node.get_int("followersCount"),
        "following_count": node.get_int("followsCount"),
        "posts_count": node.get_int("postsCount"),
        "account_created_at": node.get_optional_timestamp("createdAt"),
        "account_state": "taken_down" if _is_labelled_taken_down(node, did) else "active",
        "moved_to_handle": None,
        "observed_at": observed,
    }


def _is_labelled_taken_down(profile: JsonNode, did: str) -> bool:
    """Whether the profile carries a ``!takedown`` label on the account itself, not negated."""
    return any(
        label.get_str("val") == TAKEDOWN_LABEL and label.get_str("uri") == did and not label.get_flag("neg")
        for label in profile.get_optional_list("labels")
    )


def gone_snapshot(account: Account, native_id: str, state: str, observed: datetime) -> Row:
    """The snapshot of an account taken down or deactivated: its state, no counts (none are shown)."""
    return {
        "platform": NAME,
        "account_id": account.account_id,
        "account_native_id": native_id,
        "handle": account.handle.lstrip("@"),
        "display_name": None,
        "followers_count": None,
        "following_count": None,
        "posts_count": None,
        "account_created_at": None,
        "account_state": state,
        "moved_to_handle": None,
        "observed_at": observed,
    }


def read_feed_item(item: JsonNode, account: Account, own_did: str, observed: datetime) -> Row | None:
    """A feed item as a post of the account, or ``None`` when someone else wrote it."""
    post = item.get_object("post")
    reason = item.get_optional_object("reason")
    if reason is not None and _type_of(reason) == REASON_REPOST:
        if reason.get_object("by").get_str("did") != own_did:
            return None
        return _repost_row(post, reason, account, own_did, observed)
    if post.get_object("author").get_str("did") != own_did:
        return None
    reply = item.get_optional_object("reply")
    parent = reply.get_object("parent") if reply is not None else None
    return _post_row(post, account, own_did, observed, _author_did(parent))


def _walk_thread(root: JsonNode) -> Iterator[tuple[JsonNode, JsonNode | None]]:
    """The ``threadViewPost`` nodes of a thread from its root down, each with its parent's post
    (iteratively: depth is the server's to choose). A ``notFoundPost``, a ``blockedPost`` or a
    member a later lexicon adds shows nothing below it: it ends its branch."""
    stack: list[tuple[JsonNode, JsonNode | None]] = [(root, None)]
    while stack:
        node, parent = stack.pop()
        if _type_of(node) != THREAD_VIEW_POST:
            continue
        yield node, parent
        post = node.get_object("post")
        stack.extend((child, post) for child in reversed(_optional_list(node, "replies")))


def covered_posts(root: JsonNode, own_did: str) -> dict[str, int]:
    """The account's posts whose thread a ``getPostThread`` read covers, with the ``replyCount``
    it shows: its own posts whose node lists its ``replies`` (the server cut none at its depth
    limit). A post below a ``blockedPost`` or a ``notFoundPost`` is not shown, so not covered.

    The one definition of a thread read: normalize writes a ``thread_reads`` row for each of
    these, and the extraction reports them to the thread ledger.
    """
    covered = {}
    for node, _ in _walk_thread(root):
        post = node.get_object("post")
        is_own = post.get_object("author").get_str("did") == own_did
        if is_own and isinstance(node.value, dict) and node.value.get("replies") is not None:
            covered[post.get_str("uri")] = _count(post, "replyCount")
    return covered


def read_covered_posts(body: JsonNode, own_did: str) -> list[str]:
    """The posts a ``getPostThread`` response covers (:func:`covered_posts`), for the ledger."""
    return list(covered_posts(body.get_object("thread"), own_did))


def read_thread(
    root: JsonNode,
    account: Account,
    own_did: str,
    observed: datetime,
    posts: dict[str, Row],
    interactions: dict[str, Row],
) -> None:
    """The account's posts and the public's interactions with it in a thread."""
    for node, parent in _walk_thread(root):
        post = node.get_object("post")
        if post.get_object("author").get_str("did") == own_did:
            row = _post_row(post, account, own_did, observed, _author_did(parent))
            posts.setdefault(row["post_id"], row)
        else:
            interaction = _interaction_row(post, parent, account, own_did, observed)
            if interaction is not None:
                interactions.setdefault(interaction["interaction_id"], interaction)


def _repost_row(post: JsonNode, reason: JsonNode, account: Account, own_did: str, observed: datetime) -> Row:
    subject_uri = post.get_str("uri")
    subject_ref = post.get_optional_str("cid") or subject_uri
    return {
        **empty_post(account, observed),
        "post_id": reason.get_optional_str("uri") or f"{own_did}/repost/{subject_ref}",
        "created_at": reason.get_timestamp("indexedAt"),
        "post_type": "repost",
        "reposted_post_id": subject_uri,
        "reposted_account_native_id": post.get_object("author").get_str("did"),
    }


def _post_row(
    post: JsonNode, account: Account, own_did: str, observed: datetime, parent_author: str | None
) -> Row:
    record = post.get_object("record")
    embed = record.get_optional_object("embed")
    quoted_uri = _quoted_post_uri(embed)
    reply = record.get_optional_object("reply")
    in_reply_to: str | None = None
    in_reply_to_account: str | None = None
    if quoted_uri is not None:
        post_type = "quote"
    elif reply is not None:
        post_type = "reply"
        in_reply_to = reply.get_object("parent").get_str("uri")
        in_reply_to_account = parent_author or _did_of(in_reply_to)
    else:
        post_type = "original"
    media_count, described_count = _count_media(embed)
    return {
        **empty_post(account, observed),
        "post_id": post.get_str("uri"),
        "created_at": _published_at(post),
        "post_type": post_type,
        "text": record.get_str("text"),
        "language": _language(record),
        "in_reply_to_post_id": in_reply_to,
        "in_reply_to_account_native_id": in_reply_to_account,
        "is_reply_to_self": in_reply_to_account == own_did,
        "reposted_post_id": quoted_uri,
        "reposted_account_native_id": _did_of(quoted_uri) if quoted_uri else None,
        "mention_count": len(_mentioned_dids(record)),
        "link_count": len(_links(record, embed)),
        "media_count": media_count,
        "media_with_alt_text_count": described_count,
        "reply_count": _count(post, "replyCount"),
        # quoteCount is left out: Mastodon's reblogs_count does not count quotes either.
        "repost_count": _count(post, "repostCount"),
        "like_count": _count(post, "likeCount"),
    }


def _interaction_row(
    post: JsonNode, parent: JsonNode | None, account: Account, own_did: str, observed: datetime
) -> Row | None:
    """A post of someone else in a thread, as an interaction with the account, if it is one."""
    record = post.get_object("record")
    quoted_uri = _quoted_post_uri(record.get_optional_object("embed"))
    in_reply_to: str | None = None
    if parent is not None and _author_did(parent) == own_did:
        interaction_type = "reply"
        in_reply_to = parent.get_str("uri")
    elif quoted_uri is not None and _did_of(quoted_uri) == own_did:
        interaction_type = "quote"
    elif own_did in _mentioned_dids(record):
        interaction_type = "mention"
    else:
        return None  # the public talking among itself under the account's post
    author = post.get_object("author")
    text = record.get_str("text")
    return {
        "platform": NAME,
        "interaction_id": post.get_str("uri"),
        "account_id": account.account_id,
        "author_native_id": author.get_str("did"),
        "author_handle": author.get_optional_str("handle"),
        "created_at": _published_at(post),
        "interaction_type": interaction_type,
        "in_reply_to_post_id": in_reply_to,
        "text": text,
        "language": _language(record),
        "is_question": contains_question(without_byte_ranges(text, _link_byte_ranges(record))),
        "observed_at": observed,
    }


# -- field readers ----------------------------------------------------------------------------------


def _type_of(node: JsonNode) -> str | None:
    """The ``$type`` of a union member, inferred from its required fields when absent."""
    declared = node.get_optional_str("$type")
    if declared is not None:
        return declared
    value = node.value if isinstance(node.value, dict) else {}
    if "post" in value:
        return THREAD_VIEW_POST
    if value.get("notFound") is True:
        return NOT_FOUND_POST
    if value.get("blocked") is True:
        return BLOCKED_POST
    return None


def _optional_list(node: JsonNode, key: str) -> list[JsonNode]:
    value = node.value.get(key) if isinstance(node.value, dict) else None
    return [] if value is None else node.get_list(key)


def _published_at(post: JsonNode) -> datetime:
    """When a post was published: Bluesky's own sort time, the earlier of the record's
    ``createdAt`` (the client's clock) and the AppView's ``indexedAt``, so a client clock
    running ahead cannot date a post in the future."""
    created = post.get_object("record").get_timestamp("createdAt")
    return min(created, post.get_timestamp("indexedAt"))


def _count(post: JsonNode, key: str) -> int:
    value = post.value.get(key) if isinstance(post.value, dict) else None
    return 0 if value is None else post.get_int(key)


def _author_did(view: JsonNode | None) -> str | None:
    """The author of a postView or blockedPost (a notFoundPost has none)."""
    if view is None:
        return None
    author = view.get_optional_object("author")
    return author.get_optional_str("did") if author is not None else None


def _did_of(uri: str) -> str | None:
    """The DID an ``at://`` URI lives under, when its authority is a DID (not a handle)."""
    authority = uri.removeprefix("at://").split("/", 1)[0]
    return authority if authority.startswith("did:") else None


def _language(record: JsonNode) -> str | None:
    """The primary subtag of the first of ``langs`` (BCP 47 ``pt-BR`` gives ``pt``)."""
    langs = _optional_list(record, "langs")
    if not langs:
        return None
    return langs[0].as_str().split("-", 1)[0].lower() or None


def _features(record: JsonNode, feature_type: str) -> list[JsonNode]:
    return [
        feature
        for facet in _optional_list(record, "facets")
        for feature in _optional_list(facet, "features")
        if _type_of(feature) == feature_type
    ]


def _mentioned_dids(record: JsonNode) -> set[str]:
    return {feature.get_str("did") for feature in _features(record, FACET_MENTION)}


def _link_byte_ranges(record: JsonNode) -> list[tuple[int, int]]:
    """The UTF-8 byte ranges of ``record.text`` that link facets cover (a link shown shortened or not)."""
    ranges = []
    for facet in _optional_list(record, "facets"):
        if not any(_type_of(feature) == FACET_LINK for feature in _optional_list(facet, "features")):
            continue
        index = facet.get_optional_object("index")
        bounds = index.value if index is not None and isinstance(index.value, dict) else {}
        start, end = bounds.get("byteStart"), bounds.get("byteEnd")
        if type(start) is int and type(end) is int:
            ranges.append((start, end))
    return ranges


def _links(record: JsonNode, embed: JsonNode | None) -> set[str]:
    """Distinct link targets: link facets, plus an external card (usually of a link in the text)."""
    links = {feature.get_str("uri") for feature in _features(record, FACET_LINK)}
    for part in _embed_parts(embed):
        if _type_of(part) == EMBED_EXTERNAL:
            links.add(part.get_object("external").get_str("uri"))
    return links


def _embed_parts(embed: JsonNode | None) -> list[JsonNode]:
    """An embed, and the media of a recordWithMedia embed."""
    if embed is None:
        return []
    if _type_of(embed) == EMBED_RECORD_WITH_MEDIA:
        media = embed.get_optional_object("media")
        return [embed] if media is None else [embed, media]
    return [embed]


def _count_media(embed: JsonNode | None) -> tuple[int, int]:
    """(attachments, attachments with alt text) of images and video embeds, also inside recordWithMedia."""
    media = 0
    described = 0
    for part in _embed_parts(embed):
        part_type = _type_of(part)
        if part_type == EMBED_IMAGES:
            items = part.get_list("images")
        elif part_type == EMBED_VIDEO:
            items = [part]
        else:
            continue
        media += len(items)
        described += sum(1 for item in items if (item.get_optional_str("alt") or "").strip())
    return media, described


def _quoted_post_uri(embed: JsonNode | None) -> str | None:
    """The URI of the post a record or recordWithMedia embed quotes (feeds, lists... are not quotes)."""
    if embed is None:
        return None
    embed_type = _type_of(embed)
    if embed_type == EMBED_RECORD:
        reference = embed.get_object("record")
    elif embed_type == EMBED_RECORD_WITH_MEDIA:
        reference = embed.get_object("record").get_object("record")
    else:
        return None
    uri = reference.get_str("uri")
    parts = uri.removeprefix("at://").split("/")
    return uri if len(parts) >= 2 and parts[1] == POST_COLLECTION else None
