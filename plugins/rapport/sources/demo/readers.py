"""What only the demo reads: its ``notifications``. Its statuses and its account are Mastodon's,
read with :mod:`rapport.sources.mastodon.readers`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rapport.sources import Row
from rapport.sources.mastodon.readers import interaction_row, read_quoted
from rapport.sources.payloads import JsonNode

if TYPE_CHECKING:
    from rapport.accounts import Account


def read_notification(status: JsonNode, account: Account, own_id: str, observed: datetime) -> Row:
    """The status of a ``mention`` notification as an interaction with the account.

    The notification says the status is addressed to the account: it is a
    ``reply`` when it answers one of the account's statuses
    (``in_reply_to_account_id``; a reply in someone else's thread that names
    the account is a ``mention``), a ``quote`` when it quotes, else a ``mention``.
    """
    quote = status.get_optional_object("quote")
    read_quoted(quote)
    if (
        status.get_optional_str("in_reply_to_id") is not None
        and status.get_optional_str("in_reply_to_account_id") == own_id
    ):
        interaction_type = "reply"
    elif quote is not None:
        interaction_type = "quote"
    else:
        interaction_type = "mention"
    return interaction_row(status, account, interaction_type, observed)
