"""The common record types every source is normalized into.

A source (demo, Mastodon, Bluesky...) lands raw payloads; its ``normalize``
function turns them into four tables of records with the columns below.
Validation checks them, the loader writes them to the warehouse's ``raw``
schema, and the dbt staging models read them from there. This module is the
one place that names those columns: change it and the loader, the
validation suites and ``sql/models/staging`` change with it.

All timestamps are UTC, stored without a time zone (``TIMESTAMP``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Column:
    """One column of a record type."""

    name: str
    sql_type: str
    nullable: bool
    description: str


@dataclass(frozen=True)
class RecordType:
    """A table of records: its name, columns and natural key."""

    name: str
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [column.name for column in self.columns if not column.nullable]


POST_TYPES: Final = ("original", "reply", "repost", "quote")
INTERACTION_TYPES: Final = ("reply", "mention", "quote")
ACCOUNT_STATES: Final = ("active", "suspended", "moved", "deactivated", "taken_down")
"""What a platform says of an account when Rapport observes it (``account_state``):

- ``active``: a live account, its counts as shown;
- ``suspended``: suspended by its server's moderators (Mastodon answers the lookup with
  ``"suspended": true`` and shows no counts, no posts);
- ``moved``: its owner moved to another account (Mastodon's ``moved``), named in
  ``moved_to_handle``; its old posts are still read, its counts are what it still shows;
- ``deactivated``: deactivated by its owner (Bluesky's ``AccountDeactivated``): nothing shown;
- ``taken_down``: taken down by the platform's moderation (Bluesky's ``AccountTakedown``, or a
  ``!takedown`` label on the profile).

An account that is not active is a state, not a live account with 0 followers: the counts it
no longer shows are NULL.
"""
COUNTS_REQUIRED_WHEN_ACTIVE: Final = ("followers_count", "following_count", "posts_count")
"""Snapshot counts that may be NULL only when ``account_state`` is not ``active``."""

ACCOUNT_SNAPSHOTS = RecordType(
    name="account_snapshots",
    grain="one row per account per observation time",
    key=("account_id", "observed_at"),
    columns=(
        Column("platform", "VARCHAR", False, "Platform the account lives on."),
        Column("account_id", "VARCHAR", False, "Rapport's account key: '<platform>:<handle>'."),
        Column("account_native_id", "VARCHAR", False, "The platform's own id for the account."),
        Column("handle", "VARCHAR", False, "Handle as the platform shows it."),
        Column("display_name", "VARCHAR", True, "Display name at observation time."),
        # Counts are NULL when the platform no longer shows them (a suspended, deactivated or
        # taken-down account): never 0, which would read as a collapse. Not null when active.
        Column("followers_count", "BIGINT", True, "Followers at observation time."),
        Column("following_count", "BIGINT", True, "Accounts followed at observation time."),
        Column("posts_count", "BIGINT", True, "Posts published, as the platform counts them."),
        Column("account_created_at", "TIMESTAMP", True, "When the account was created."),
        Column("account_state", "VARCHAR", False, "One of ACCOUNT_STATES: active, suspended, moved..."),
        Column("moved_to_handle", "VARCHAR", True, "Where a moved account went ('@user@host')."),
        Column("observed_at", "TIMESTAMP", False, "When Rapport observed these values."),
    ),
)

POSTS = RecordType(
    name="posts",
    grain="one row per post published by a registered account",
    # The account is part of the key: a Mastodon status id is unique on its instance only, and two
    # registered accounts on two instances can publish posts under the same id.
    key=("platform", "account_id", "post_id"),
    columns=(
        Column("platform", "VARCHAR", False, "Platform the post lives on."),
        Column("post_id", "VARCHAR", False, "The platform's id for the post."),
        Column("account_id", "VARCHAR", False, "Rapport's key of the account that published it."),
        Column("created_at", "TIMESTAMP", False, "When the post was published."),
        Column("post_type", "VARCHAR", False, "One of original, reply, repost, quote."),
        Column("text", "VARCHAR", True, "Plain text of the post (null for a repost)."),
        Column("language", "VARCHAR", True, "ISO 639-1 language code, when known."),
        Column("in_reply_to_post_id", "VARCHAR", True, "Post this one replies to (replies only)."),
        Column(
            "in_reply_to_account_native_id",
            "VARCHAR",
            True,
            "Native id of the author of the post replied to (replies only).",
        ),
        Column("is_reply_to_self", "BOOLEAN", False, "True for a reply to its own post (a thread)."),
        Column("reposted_post_id", "VARCHAR", True, "Post reposted or quoted (reposts, quotes)."),
        Column(
            "reposted_account_native_id",
            "VARCHAR",
            True,
            "Native id of the author of the post reposted or quoted.",
        ),
        Column("mention_count", "INTEGER", False, "Accounts mentioned in the post."),
        Column("link_count", "INTEGER", False, "Links in the post."),
        Column("media_count", "INTEGER", False, "Media attachments."),
        Column("media_with_alt_text_count", "INTEGER", False, "Attachments with alt text."),
        Column("reply_count", "BIGINT", False, "Replies received, at observation time."),
        Column("repost_count", "BIGINT", False, "Reposts received, at observation time."),
        Column("like_count", "BIGINT", False, "Likes received, at observation time."),
        Column("edited_at", "TIMESTAMP", True, "Last edit, when the post was edited."),
        Column("is_deleted", "BOOLEAN", False, "True when the platform reports it deleted."),
        Column("observed_at", "TIMESTAMP", False, "When Rapport observed these values."),
    ),
)

INTERACTIONS = RecordType(
    name="interactions",
    grain="one row per post of the public and registered account it addresses",
    # The account is part of the key: one post of the public can address two registered
    # accounts (a mention of both), and each keeps it.
    key=("platform", "account_id", "interaction_id"),
    columns=(
        Column("platform", "VARCHAR", False, "Platform the interaction lives on."),
        Column("interaction_id", "VARCHAR", False, "The platform's id for the public's post."),
        Column("account_id", "VARCHAR", False, "Rapport's key of the account addressed."),
        Column("author_native_id", "VARCHAR", False, "Native id of the member of the public."),
        Column("author_handle", "VARCHAR", True, "Handle of the member of the public."),
        Column("created_at", "TIMESTAMP", False, "When the public's post was published."),
        Column("interaction_type", "VARCHAR", False, "One of reply, mention, quote."),
        Column(
            "in_reply_to_post_id",
            "VARCHAR",
            True,
            "The account's post this replies to (replies only).",
        ),
        Column("text", "VARCHAR", True, "Plain text of the public's post."),
        Column("language", "VARCHAR", True, "ISO 639-1 language code, when known."),
        Column("is_question", "BOOLEAN", False, "True when the post asks the account something."),
        Column("observed_at", "TIMESTAMP", False, "When Rapport observed it."),
    ),
)

THREAD_READS = RecordType(
    name="thread_reads",
    grain="one row per post of a registered account whose replies an extraction read in full",
    # Upserted like posts: the latest read of a post's thread wins.
    key=("platform", "account_id", "post_id"),
    columns=(
        Column("platform", "VARCHAR", False, "Platform the post lives on."),
        Column("account_id", "VARCHAR", False, "Rapport's key of the account that published the post."),
        Column("post_id", "VARCHAR", False, "The platform's id for the post whose thread was read."),
        Column(
            "reply_count",
            "BIGINT",
            False,
            "The post's reply count when its thread was read, as the extraction listed it or as "
            "the thread shows it; for a thread read without listing its post again (an older "
            "one, from the backlog), the replies the thread holds directly under it. Such a read "
            "is observed after the listing that last counted the post's replies.",
        ),
        Column("observed_at", "TIMESTAMP", False, "When Rapport read the thread."),
    ),
)

EXPORT_FILES = RecordType(
    name="export_files",
    grain="one row per analytics export file imported for an account",
    # A file is imported once per account: dropping it again (same content) changes nothing.
    key=("platform", "account_id", "file_sha256"),
    columns=(
        Column("platform", "VARCHAR", False, "Platform the account lives on."),
        Column("account_id", "VARCHAR", False, "Rapport's key of the account the file is of."),
        Column("export_format", "VARCHAR", False, "The export format it was read as (raw.export_formats)."),
        Column("file_name", "VARCHAR", False, "The file's name as dropped in the account's inbox."),
        Column("file_sha256", "VARCHAR", False, "SHA-256 of the file's bytes, as landed."),
        Column("covers_since", "TIMESTAMP", False, "First day the file covers, at 00:00 UTC."),
        Column("covers_until", "TIMESTAMP", False, "The day after the last day it covers, at 00:00 UTC."),
        Column("posts_listed", "BIGINT", False, "Posts of the account the file lists."),
        Column("follower_days", "BIGINT", False, "Days it gives the account's followers for."),
        Column("observed_at", "TIMESTAMP", False, "When Rapport imported it: the run's logical date."),
    ),
)

RECORD_TYPES: Final = (ACCOUNT_SNAPSHOTS, POSTS, INTERACTIONS, THREAD_READS, EXPORT_FILES)
READ_RECORD_TYPES: Final = (ACCOUNT_SNAPSHOTS, POSTS, INTERACTIONS, THREAD_READS)
"""The record types a platform's reads give; an imported export file adds ``export_files``."""
RECORD_TYPES_BY_NAME: Final = {record_type.name: record_type for record_type in RECORD_TYPES}
