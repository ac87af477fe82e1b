"""What only the demo reads: its ``notifications``. Its statuses and its account are Mastodon's,
read with :mod:`rapport.sources.mastodon.readers`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rapport.sources import Row
from rapport.sources.mastodon.readers import full_handle, read_quoted, read_text
from rapport.sources.payloads import JsonNode, contains_question

if TYPE_CHECKING:
    from rapport.accounts import Account


def read_notification(status: JsonNode, account: Account, own_id: str, observed: datetime) -> Row:
    """The status of a ``mention`` notification as an interaction with the account.

    The notification says the status is addressed to the account: it is a
    ``reply`` when it answers one of the account's statuses
    (``in_reply_to_account_id``; a reply in someone else's thread that names
    the account is a ``mention``), a ``quote`` when it quotes, else a ``mention``.
    """
    author = status.get_object("account")
    acct = author.get_optional_str("acct")
    in_reply_to_id = status.get_optional_str("in_reply_to_id")
    quote = status.get_optional_object("quote")
    read_quoted(quote)
    if in_reply_to_id is not None and status.get_optional_str("in_reply_to_account_id") == own_id:
        interaction_type = "reply"
    elif quote is not None:
        interaction_type = "quote"
    else:
        interaction_type = "mention"
    text, _, unlinked_text = read_text(status, quote is not None)
    return {
        "platform": account.platform,
        "interaction_id": status.get_str("id"),
        "account_id": account.account_id,
        "author_native_id": author.get_str("id"),
        "author_handle": full_handle(acct, account) if acct else None,
        "created_at": status.get_timestamp("created_at"),
        "interaction_type": interaction_type,
        "in_reply_to_post_id": in_reply_to_id if interaction_type == "reply" else None,
        "text": text,
        "language": status.get_optional_str("language"),
        "is_question": contains_question(unlinked_text),
        "observed_at": observed,
    }
