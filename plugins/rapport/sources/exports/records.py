"""An imported export file as records: its posts, its followers by day, and the file itself.

- **posts**: each post the file lists, an original post of the account (an export lists the
  account's own posts; none says what a post replies to), its counts as the file gives them at
  the end of the days it covers: likes (or reactions), comments as ``reply_count``, shares as
  ``repost_count``; a count the file does not give is 0 in the row, and the component it would
  feed is NULL in the scores (the format's ``feeds``, docs/methodology.md); alt text is never
  known (0); mentions are the @handles of the text where the format keeps them;
- **account_snapshots**: one per day the file gives the account's followers (a total), observed
  at the end of that day; following and posts counts NULL (no export gives them);
- **export_files**: one row for the file: its format, name, SHA-256, the days it covers, what it
  lists. The warehouse knows from it which weeks the account's files cover, and which not.

A file is refused (:class:`~rapport.sources.exports.ExportFileError`, the batch quarantined with
the file, line and reason) when its format is unknown, a column is missing or a value cannot be
read, it is another account's, it lists a post outside the days it covers, or its dates overlap a
file of the same kind imported before (the import says which: ``params['refused']``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from rapport.records import ACCOUNT_SNAPSHOTS, EXPORT_FILES, POSTS, READ_RECORD_TYPES
from rapport.sources import NormalizationError, Page, Records, Row, empty_post
from rapport.sources.exports import FILE_ENDPOINT, ExportFileError, ExportRows
from rapport.sources.exports.formats import detect, export_format, read
from rapport.sources.exports.parsing import count_links
from rapport.sources.payloads import to_naive_utc

if TYPE_CHECKING:
    from rapport.accounts import Account


def normalize_files(pages: Sequence[Page], account: Account, observed_at: datetime) -> Records:
    """The records of the files an import landed (one page per file; one file per extraction).

    ``observed_at`` is the end of the extraction's window: the day after the last day the file
    covers. Raises :class:`ExportFileError` naming the file, the line and the reason."""
    records: Records = {record_type.name: [] for record_type in (*READ_RECORD_TYPES, EXPORT_FILES)}
    for page in pages:
        file, rows = read_page(page, account)
        _add(records, account, file, page, rows)
    return records


def read_page(page: Page, account: Account) -> tuple[str, ExportRows]:
    """The file a landed page holds, read and checked: its name and rows."""
    if page.endpoint != FILE_ENDPOINT:
        raise NormalizationError(f"page {page.endpoint!r} of {account.account_id}: not an imported file")
    file = page.params.get("file") or "(a file without a name)"
    if refused := page.params.get("refused"):  # by the import: too large, or overlapping another file
        raise ExportFileError(file, refused)
    try:
        reference = date.fromisoformat(page.params["reference_date"])
    except (KeyError, ValueError):
        raise NormalizationError(f"{file}: its landed page has no reference_date") from None
    name = page.params.get("format")
    try:
        export = export_format(account.platform, name) if name else detect(account.platform, file, page.body)
    except KeyError as error:
        raise ExportFileError(file, str(error).strip("'\"")) from None
    rows = read(export, file, page.body, reference)
    check_owner(file, rows, account)
    return file, rows


def check_owner(file: str, rows: ExportRows, account: Account) -> None:
    """Refuse a file that names another account than ``account``: by the platform's id when the
    registry gives the account by its id, else by its handle or username (compared without case,
    '@' or punctuation). A file that names neither is accepted: it does not say whose it is."""
    handle = _plain(account.handle)
    named = rows.identities.get("id") if handle.isdigit() else rows.identities.get("handle")
    if named is None or _plain(named) == handle:
        return
    others = ", ".join(f"{kind} {value!r}" for kind, value in sorted(rows.identities.items()))
    raise ExportFileError(
        file, f"a file of another account: it names {others}, not {account.account_id}'s {account.handle!r}"
    )


def _plain(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def covered_window(rows: ExportRows) -> tuple[datetime, datetime]:
    """The file's days as a window (UTC): from its first day, 00:00, to the day after its last."""
    since = datetime.combine(rows.first_day, time(), UTC)
    return since, datetime.combine(rows.last_day + timedelta(days=1), time(), UTC)


def _add(records: Records, account: Account, file: str, page: Page, rows: ExportRows) -> None:
    since, until = (to_naive_utc(moment) for moment in covered_window(rows))
    posts: dict[str, Row] = {}
    for post in rows.posts:
        created = to_naive_utc(post.created_at)
        if not since <= created < until:
            raise ExportFileError(
                file,
                f"post {post.post_id!r} dated {created:%Y-%m-%d %H:%M}, outside the days the file covers "
                f"({rows.first_day} to {rows.last_day})",
                post.line,
            )
        if post.post_id in posts:
            continue  # listed twice (a table and a chart of one export): one post
        row = empty_post(account, until)
        row |= {
            "post_id": post.post_id,
            "created_at": created,
            "post_type": "original",
            "text": post.text,
            "language": post.language,
            "link_count": count_links(post.text),
            "mention_count": post.mentions or 0,
            "media_count": post.media_count or 0,
            "reply_count": post.comments or 0,
            "repost_count": post.shares or 0,
            "like_count": post.likes or 0,
        }
        posts[post.post_id] = row
    records[POSTS.name] += posts.values()
    native_id = rows.identities.get("id") or account.handle
    days: dict[date, int] = {}
    for day, followers in rows.followers:
        if not rows.first_day <= day <= rows.last_day:
            raise ExportFileError(
                file,
                f"followers given for {day}, outside the days the file covers "
                f"({rows.first_day} to {rows.last_day})",
            )
        days[day] = followers
    records[ACCOUNT_SNAPSHOTS.name] += [
        _snapshot(account, native_id, day, count) for day, count in sorted(days.items())
    ]
    records[EXPORT_FILES.name].append(
        {
            "platform": account.platform,
            "account_id": account.account_id,
            "export_format": rows.format,
            "file_name": file,
            "file_sha256": page.params.get("sha256") or _sha256(page.body),
            "covers_since": since,
            "covers_until": until,
            "posts_listed": len(posts),
            "follower_days": len(days),
            "observed_at": until,
        }
    )


def _snapshot(account: Account, native_id: str, day: date, followers: int) -> dict[str, Any]:
    return {
        "platform": account.platform,
        "account_id": account.account_id,
        "account_native_id": native_id,
        "handle": account.handle,
        "display_name": None,
        "followers_count": followers,
        "following_count": None,
        "posts_count": None,
        "account_created_at": None,
        "account_state": "active",
        "moved_to_handle": None,
        # At the end of the day the file gives them for.
        "observed_at": datetime.combine(day + timedelta(days=1), time()),
    }


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
