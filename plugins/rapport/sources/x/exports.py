"""Readers and detectors of X's analytics exports (CSV): the tweet activity export, the account
analytics content export (one row per post) and the account overview export (one row per day).

X writes every post's id, its text with its @handles, and its counts; the file name (or the
posts' links) says whose account it is. None of the files lists the public's replies, nor a total
of followers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Final

from rapport.sources.exports import ExportPost, ExportRows
from rapport.sources.exports.parsing import (
    Table,
    cell,
    count_mentions,
    csv_table,
    data_rows,
    decode_text,
    find_header,
    holds_header,
    parse_count,
    place_years,
    read_moment,
)

TWEET_ACTIVITY: Final = "x_tweet_activity"
CONTENT: Final = "x_content"
OVERVIEW: Final = "x_overview"

_TWEET_ACTIVITY_NAME: Final = re.compile(
    r"(?:daily_)?tweet_activity_metrics_(?P<handle>[A-Za-z0-9_]{1,15})_(?P<since>\d{8})_(?P<until>\d{8})"
    r"_[a-z]{2}(?:[-_][A-Za-z]+)?(?: ?\(\d+\))?\.csv",
    re.IGNORECASE,
)
"""``tweet_activity_metrics_<handle>_<YYYYMMDD>_<YYYYMMDD>_<language>.csv``, as X names it (a
browser adds `` (1)`` to a second download); the end date is the day after the period."""
_CONTENT_NAME: Final = re.compile(
    r"account_analytics_content_(?P<since>\d{4}-\d{2}-\d{2})_(?P<until>\d{4}-\d{2}-\d{2})(?: ?\(\d+\))?\.csv",
    re.IGNORECASE,
)
_STATUS_LINK: Final = re.compile(
    r"https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/(?P<handle>[A-Za-z0-9_]{1,15})/status/(?P<id>\d+)",
    re.IGNORECASE,
)
_SNOWFLAKE_EPOCH_MS: Final = 1288834974657
"""X's post ids are snowflakes: the milliseconds since this epoch, shifted left by 22 bits."""
_SNOWFLAKE_SINCE: Final = 1 << 40
"""Ids below this predate snowflakes (before November 2010): they hold no time."""

TWEET_ACTIVITY_COLUMNS: Final = {
    "id": ["Tweet id", "Identifiant du Tweet", "ID du Tweet"],
    "link": ["Tweet permalink", "Permalien du Tweet"],
    "text": ["Tweet text", "Texte du Tweet"],
    "time": ["time", "heure", "date"],
    "impressions": ["impressions"],
    "retweets": ["retweets", "Retweets"],
    "replies": ["replies", "réponses"],
    "likes": ["likes", "J'aime"],
}
CONTENT_COLUMNS: Final = {
    "id": ["Post id", "Identifiant du post", "ID du post"],
    "date": ["Date"],
    "text": ["Post text", "Texte du post"],
    "link": ["Post Link", "Lien du post"],
    "impressions": ["Impressions"],
    "likes": ["Likes", "J'aime"],
    "replies": ["Replies", "Réponses"],
    "reposts": ["Reposts", "Republications"],
    "new_follows": ["New follows", "Nouveaux abonnements"],
}
OVERVIEW_COLUMNS: Final = {
    "date": ["Date"],
    "impressions": ["Impressions"],
    "new_follows": ["New follows", "Nouveaux abonnements"],
    "unfollows": ["Unfollows", "Désabonnements"],
    "posts": ["Create Post", "Créer un post"],
}
_TWEET_ACTIVITY_REQUIRED: Final = ("id", "text", "time", "retweets", "replies", "likes")
_CONTENT_REQUIRED: Final = ("id", "date", "text", "likes", "replies", "reposts")
_OVERVIEW_REQUIRED: Final = ("date", "impressions", "new_follows", "unfollows")


def read_tweet_activity(file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Read a tweet activity export (``tweet_activity_metrics_<handle>_<from>_<to>_<lang>.csv``).

    Each row is one of the account's posts: its id, text (with its @handles), time (``2026-11-30
    14:05 +0000``) and counts; the ``promoted ...`` columns (``-`` unless the post was promoted) are
    not read. The file name gives the handle and the period, whose end date X writes as the day
    after it (two monthly files do not overlap); a renamed file gets them from the posts' links and
    times. Raises :class:`~rapport.sources.exports.ExportFileError` naming the line and column of
    a value it cannot read, or the columns missing.
    """
    table = csv_table(file_name, decode_text(file_name, data))
    position, columns = find_header(table, TWEET_ACTIVITY_COLUMNS, _TWEET_ACTIVITY_REQUIRED)
    header = table.rows[position][1]
    posts = []
    for line, cells in data_rows(table, position):
        moment = read_moment(
            table, line, header[columns["time"]], cell(cells, columns, "time"), day_first=False
        )
        posts.append(
            _post(table, header, line, cells, columns, place_years([moment], reference_date)[0], "retweets")
        )
    named = _TWEET_ACTIVITY_NAME.fullmatch(_base_name(file_name))
    period = None
    if named:
        since = datetime.strptime(named["since"], "%Y%m%d").date()
        until = datetime.strptime(named["until"], "%Y%m%d").date() - timedelta(days=1)
        period = (since, max(until, since))
    identities = _identities(table, posts, named["handle"] if named else None)
    return _rows(table, TWEET_ACTIVITY, posts, period, identities)


def read_content(file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Read an account analytics content export (``account_analytics_content_<from>_<to>.csv``).

    Each row is one of the account's posts: its id, day (``Fri, Nov 27, 2026``), text and counts.
    The day has no time: the post's id (a snowflake) gives it, when it falls within a day of the
    written date. The period is the file name's (both days included), else the posts'; the
    handle is the posts' links'. Raises :class:`~rapport.sources.exports.ExportFileError` naming
    the line and column of a value it cannot read, or the columns missing.
    """
    table = csv_table(file_name, decode_text(file_name, data))
    position, columns = find_header(table, CONTENT_COLUMNS, _CONTENT_REQUIRED)
    header = table.rows[position][1]
    posts = []
    for line, cells in data_rows(table, position):
        moment = read_moment(
            table, line, header[columns["date"]], cell(cells, columns, "date"), day_first=False
        )
        day = place_years([moment], reference_date)[0]
        created_at = _snowflake_time(cell(cells, columns, "id"), day) or day
        posts.append(_post(table, header, line, cells, columns, created_at, "reposts"))
    named = _CONTENT_NAME.fullmatch(_base_name(file_name))
    period = None
    if named:
        period = (date.fromisoformat(named["since"]), date.fromisoformat(named["until"]))
    return _rows(table, CONTENT, posts, period, _identities(table, posts, None))


def read_overview(file_name: str, data: bytes, reference_date: date) -> ExportRows:
    """Read an account overview export (``account_overview_analytics.csv``): one row per day.

    It lists no post, and its ``New follows`` and ``Unfollows`` are the day's gains and losses,
    not a total: the file gives the days it covers, and nothing else Rapport records.
    """
    table = csv_table(file_name, decode_text(file_name, data))
    position, columns = find_header(table, OVERVIEW_COLUMNS, _OVERVIEW_REQUIRED)
    moments = []
    for line, cells in data_rows(table, position):
        moments.append(read_moment(table, line, "Date", cell(cells, columns, "date"), day_first=False))
        for key in ("impressions", "new_follows", "unfollows"):
            parse_count(table, line, OVERVIEW_COLUMNS[key][0], cell(cells, columns, key))
    if not moments:
        raise table.error("no day listed under the header")
    days = [moment.date() for moment in place_years(moments, reference_date)]
    return ExportRows(
        format=OVERVIEW,
        first_day=min(days),
        last_day=max(days),
        notes=[
            "lists no posts; New follows and Unfollows are daily gains and losses, not a total of followers"
        ],
    )


def detect_tweet_activity(file_name: str, data: bytes) -> bool:
    """Whether a file is a tweet activity export: a CSV whose header holds its columns."""
    return holds_header(file_name, data, TWEET_ACTIVITY_COLUMNS, _TWEET_ACTIVITY_REQUIRED)


def detect_content(file_name: str, data: bytes) -> bool:
    """Whether a file is an account analytics content export: a CSV whose header holds its columns."""
    return holds_header(file_name, data, CONTENT_COLUMNS, _CONTENT_REQUIRED)


def detect_overview(file_name: str, data: bytes) -> bool:
    """Whether a file is an account overview export: a CSV whose header holds its daily columns."""
    return holds_header(file_name, data, OVERVIEW_COLUMNS, _OVERVIEW_REQUIRED)


def _post(
    table: Table,
    header: Sequence[str],
    line: int,
    cells: Sequence[str],
    columns: Mapping[str, int],
    created_at: datetime,
    shares_key: str,
) -> ExportPost:
    post_id = cell(cells, columns, "id")
    if not re.fullmatch(r"\d{1,20}", post_id):
        raise table.error(f"column {header[columns['id']]!r}: {post_id!r} is not a post id", line)
    text = cell(cells, columns, "text")
    link = cell(cells, columns, "link") or None

    def count(key: str) -> int | None:
        return parse_count(table, line, header[columns[key]], cell(cells, columns, key))

    return ExportPost(
        post_id=post_id,
        created_at=created_at,
        line=line,
        text=text,
        url=link,
        likes=count("likes"),
        comments=count("replies"),
        shares=count(shares_key),
        mentions=count_mentions(text),
    )


def _snowflake_time(post_id: str, day: datetime) -> datetime | None:
    """When a post was published, from its snowflake id, if that falls within a day of ``day``."""
    if not post_id.isdigit() or int(post_id) < _SNOWFLAKE_SINCE:
        return None
    milliseconds = (int(post_id) >> 22) + _SNOWFLAKE_EPOCH_MS
    moment = datetime(1970, 1, 1) + timedelta(milliseconds=milliseconds)
    return moment if abs(moment - day) < timedelta(days=2) else None


def _identities(table: Table, posts: Iterable[ExportPost], named_handle: str | None) -> dict[str, str]:
    """Whose file it is: the handle of the file name, else the one of the posts' links. Raises
    when the links name another account than the file name, or several accounts."""
    linked: Counter[str] = Counter()
    first_line: dict[str, int] = {}
    for post in posts:
        found = _STATUS_LINK.search(post.url or "")
        if found:
            handle = found["handle"].lower()
            linked[handle] += 1
            first_line.setdefault(handle, post.line)
    if named_handle is not None:
        others = [handle for handle in linked if handle != named_handle.lower()]
        if others:
            raise table.error(
                f"the file name says @{named_handle.lower()}, but this post's link is @{others[0]}'s",
                first_line[others[0]],
            )
        return {"handle": f"@{named_handle.lower()}"}
    if len(linked) > 1:
        second = sorted(linked, key=lambda handle: first_line[handle])[1]
        raise table.error(
            f"posts of several accounts (@{', @'.join(sorted(linked))}): an export lists one account's",
            first_line[second],
        )
    return {"handle": f"@{next(iter(linked))}"} if linked else {}


def _rows(
    table: Table,
    format_name: str,
    posts: list[ExportPost],
    period: tuple[date, date] | None,
    identities: dict[str, str],
) -> ExportRows:
    days = [post.created_at.date() for post in posts]
    if period is None and not days:
        raise table.error("no post listed, and no period in the file name: nothing says which days it covers")
    first, last = period if period is not None else (min(days), max(days))
    return ExportRows(
        format=format_name,
        first_day=min([first, *days]),
        last_day=max([last, *days]),
        posts=posts,
        identities=identities,
    )


def _base_name(file_name: str) -> str:
    return file_name.replace("\\", "/").rsplit("/", 1)[-1]
