"""Reading platform payloads, for every source: JSON fields, HTML content, record frames.

- :func:`load_json` (:func:`parse_json`) and :class:`JsonNode` read a page's
  JSON and raise a :class:`~rapport.sources.NormalizationError` naming the
  page and the field (as a path such as ``$[3].account.id``) when a value is
  missing, of the wrong type, or one no record can hold (a count beyond 64
  bits, a string that is not Unicode, a time outside years 1-9999). Unknown
  fields are ignored.
- :func:`read_html` turns status HTML into plain text and its links.
- :func:`records_frame` builds a DataFrame with exactly the columns and dtypes
  of a :class:`~rapport.records.RecordType` (:func:`records_frames`, one per
  record type of a source's records), :func:`records_table` an Arrow table.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, Final, NoReturn

from rapport.records import RECORD_TYPES
from rapport.sources import NormalizationError, Page, Records

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from rapport.accounts import Account
    from rapport.records import Column, RecordType

PANDAS_DTYPES: Final = {
    "VARCHAR": "str",
    "BIGINT": "int64",
    "INTEGER": "int64",
    "BOOLEAN": "bool",
    # Microseconds: the resolution of DuckDB's TIMESTAMP and of the platforms' clocks.
    "TIMESTAMP": "datetime64[us]",
}
"""The pandas dtype of each SQL type of :mod:`rapport.records` (timestamps naive UTC); a nullable
count takes :data:`NULLABLE_COUNT_DTYPE` instead (see :func:`pandas_dtype`)."""

NULLABLE_COUNT_DTYPE: Final = "Int64"
"""pandas' integer dtype that holds NULL: ``int64`` cannot, and would turn a count into floats."""

_ARROW_TYPES: Final = {
    "VARCHAR": "string",
    "BIGINT": "int64",
    "INTEGER": "int64",
    "BOOLEAN": "bool",
    "TIMESTAMP": "timestamp[us]",
}
"""The Arrow type that converts to each pandas dtype of :data:`PANDAS_DTYPES`."""


def pandas_dtype(column: Column) -> str:
    """The pandas dtype of a column's values: :data:`PANDAS_DTYPES`, ``Int64`` for a nullable count."""
    if column.nullable and column.sql_type in ("BIGINT", "INTEGER"):
        return NULLABLE_COUNT_DTYPE
    return PANDAS_DTYPES[column.sql_type]


def describe_page(page: Page) -> str:
    """Name a page for error messages, e.g. ``accounts/statuses page 2``."""
    number = page.params.get("page")
    return f"{page.endpoint} page {number}" if number else page.endpoint


def page_labels(pages: Sequence[Page], subjects: Sequence[str] = ("id",)) -> list[str]:
    """Name each page for error messages, by its endpoint, the first of ``subjects`` among its
    parameters and its rank among the pages of both: ``comments (id=123) page 2``."""
    counts: dict[tuple[str, str], int] = {}
    labels = []
    for page in pages:
        subject = next((f"{key}={page.params[key]}" for key in subjects if page.params.get(key)), "")
        counts[page.endpoint, subject] = counts.get((page.endpoint, subject), 0) + 1
        where = f" ({subject})" if subject else ""
        labels.append(f"{page.endpoint}{where} page {counts[page.endpoint, subject]}")
    return labels


def page_param(page: Page, name: str, label: str) -> str:
    """The parameter ``name`` a page was landed with; ``NormalizationError`` naming the page without it."""
    value = page.params.get(name)
    if not value:
        raise NormalizationError(f"{label}: the page's parameters name no {name}")
    return value


def load_json(page: Page) -> JsonNode:
    """Parse a page's body as UTF-8 JSON.

    Returns the root :class:`JsonNode`; raises ``NormalizationError`` naming the
    page when the body is not valid UTF-8 JSON (see :func:`parse_json`).
    """
    return parse_json(page.body, describe_page(page))


def parse_json(body: bytes, label: str) -> JsonNode:
    """Parse a body as UTF-8 JSON; ``label`` names its page in errors.

    Returns the root :class:`JsonNode`. Raises ``NormalizationError`` naming the
    page when the body is not UTF-8 or not JSON, and also when it is JSON that
    Python cannot hold: nested deeper than the interpreter's recursion limit,
    or an integer of more than 4,300 digits.
    """
    try:
        value = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as error:  # ValueError covers JSON, UTF-8 and digit-limit errors
        raise NormalizationError(f"{label}: body is not valid JSON ({_shorten(str(error))})") from error
    return JsonNode(value, label, "$")


def _shorten(text: str, limit: int = 200) -> str:
    """A message part bounded in size: payload values can weigh megabytes."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


def to_naive_utc(moment: datetime) -> datetime:
    """Return a datetime as naive UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


@dataclass(frozen=True)
class JsonNode:
    """A JSON value with the page and path it was read from, for precise errors.

    The ``get_*`` methods read one field of an object node; ``get_optional_*``
    accept a missing field or ``null`` and return ``None`` for both. Each raises
    ``NormalizationError`` naming the page and the field when the field is
    missing (required getters) or holds a value of another type.
    """

    value: object
    page: str
    path: str

    def fail(self, message: str, key: str | int | None = None) -> NoReturn:
        """Raise ``NormalizationError`` naming the page and this node's (or a child's) path."""
        raise NormalizationError(f"{self.page}: field {self._child_path(key)}: {message}")

    def _child_path(self, key: str | int | None) -> str:
        if key is None:
            return self.path
        return f"{self.path}[{key}]" if isinstance(key, int) else f"{self.path}.{key}"

    def _fields(self) -> Mapping[str, object]:
        if not isinstance(self.value, dict):
            self.fail(f"expected an object, got {_type_name(self.value)}")
        return self.value

    def _get(self, key: str, *, required: bool) -> object:
        fields = self._fields()
        if key not in fields:
            if required:
                self.fail("required field is missing", key)
            return None
        return fields[key]

    def _wrong_type(self, key: str, expected: str, value: object) -> NoReturn:
        self.fail(f"expected {expected}, got {_type_name(value)}", key)

    def get_str(self, key: str) -> str:
        """Return a required string field (valid Unicode: see :meth:`get_optional_str`)."""
        value = self._get(key, required=True)
        if not isinstance(value, str):
            self._wrong_type(key, "a string", value)
        return self._check_unicode(key, value)

    def get_optional_str(self, key: str) -> str | None:
        """Return a string field, or ``None`` when it is missing or null.

        A string holding an unpaired surrogate (JSON can escape one, ``"\\ud800"``,
        Unicode has no such character) raises: it could not be stored as UTF-8.
        """
        value = self._get(key, required=False)
        if value is not None and not isinstance(value, str):
            self._wrong_type(key, "a string or null", value)
        return None if value is None else self._check_unicode(key, value)

    def _check_unicode(self, key: str | None, value: str) -> str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            self.fail(f"the string holds an unpaired surrogate at character {error.start}, not Unicode", key)
        return value

    def get_int(self, key: str) -> int:
        """Return a required integer field (a JSON boolean is not an integer).

        Raises ``NormalizationError`` also for an integer beyond 64 bits: no
        count is that large, and neither pandas nor the warehouse could hold it.
        """
        value = self._get(key, required=True)
        if isinstance(value, bool) or not isinstance(value, int):
            self._wrong_type(key, "an integer", value)
        if not _INT64_MIN <= value <= _INT64_MAX:
            self.fail(f"expected a 64-bit integer, got {_shorten(str(value), 40)}", key)
        return value

    def get_flag(self, key: str) -> bool:
        """Return an optional boolean field: ``False`` when it is missing or null (a flag a
        server adds only when true, as Mastodon's ``suspended``)."""
        value = self._get(key, required=False)
        if value is not None and not isinstance(value, bool):
            self._wrong_type(key, "a boolean or null", value)
        return value is True

    def get_object(self, key: str) -> JsonNode:
        """Return a required object field."""
        value = self._get(key, required=True)
        if not isinstance(value, dict):
            self._wrong_type(key, "an object", value)
        return JsonNode(value, self.page, self._child_path(key))

    def get_optional_object(self, key: str) -> JsonNode | None:
        """Return an object field, or ``None`` when it is missing or null."""
        value = self._get(key, required=False)
        if value is None:
            return None
        if not isinstance(value, dict):
            self._wrong_type(key, "an object or null", value)
        return JsonNode(value, self.page, self._child_path(key))

    def get_list(self, key: str) -> list[JsonNode]:
        """Return the items of a required list field."""
        value = self._get(key, required=True)
        return JsonNode(value, self.page, self._child_path(key)).as_list()

    def get_optional_list(self, key: str) -> list[JsonNode]:
        """Return the items of a list field, none when it is missing or null."""
        value = self._get(key, required=False)
        return [] if value is None else JsonNode(value, self.page, self._child_path(key)).as_list()

    def get_timestamp(self, key: str) -> datetime:
        """Return a required ISO 8601 timestamp field as naive UTC (no offset means UTC)."""
        return self._parse_timestamp(key, self.get_str(key))

    def get_optional_timestamp(self, key: str) -> datetime | None:
        """Return a timestamp field as naive UTC, or ``None`` when it is missing or null."""
        text = self.get_optional_str(key)
        return None if text is None else self._parse_timestamp(key, text)

    def _parse_timestamp(self, key: str, text: str) -> datetime:
        try:
            return to_naive_utc(datetime.fromisoformat(text))
        except (ValueError, OverflowError):  # OverflowError: its UTC time is before year 1 or after 9999
            self.fail(f"expected an ISO 8601 timestamp, got {text[:40]!r}", key)

    def as_str(self) -> str:
        """Return the value of this node, which must be a string (valid Unicode, as for ``get_str``)."""
        if not isinstance(self.value, str):
            self.fail(f"expected a string, got {_type_name(self.value)}")
        return self._check_unicode(None, self.value)

    def as_list(self) -> list[JsonNode]:
        """Return the items of this node, which must be a list."""
        if not isinstance(self.value, list):
            self.fail(f"expected a list, got {_type_name(self.value)}")
        return [JsonNode(item, self.page, f"{self.path}[{index}]") for index, item in enumerate(self.value)]


@dataclass(frozen=True)
class HtmlContent:
    """What a status's HTML says: its plain text and the links it carries."""

    text: str
    links: tuple[str, ...]
    """Targets of the ``<a href>`` that are neither mentions nor hashtags."""
    text_outside_links: str = ""
    """``text`` with the label of each of those links blanked: what :func:`contains_question` reads,
    so that a ``?`` of a link (its query, or a shortened ``example.org/a?b...``) is no question."""


_BLOCK_TAGS: Final = frozenset({"p", "div", "blockquote", "li", "ul", "ol", "h1", "h2", "h3", "h4", "pre"})
# Their content is code or styling, never text a reader sees.
_HIDDEN_TAGS: Final = frozenset({"script", "style", "template"})
_WHITESPACE: Final = re.compile(r"[ \t\r\n\f]+")
_PARAGRAPH = "\x00"  # marks a paragraph break until the text is assembled


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self.link_spans: list[tuple[int, int]] = []
        self._hidden_depth = 0
        self._anchors: list[tuple[str | None, str, int]] = []  # href, class, index of first part

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARAGRAPH)
        elif tag == "a":
            attributes = dict(attrs)
            self._anchors.append((attributes.get("href"), attributes.get("class") or "", len(self.parts)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARAGRAPH)
        elif tag == "a" and self._anchors:
            href, classes, first = self._anchors.pop()
            if _keep_link(self.links, href, classes, "".join(self.parts[first:]).strip()):
                self.link_spans.append((first, len(self.parts)))

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(_WHITESPACE.sub(" ", data))


def read_html(content: str) -> HtmlContent:
    """Read a status's HTML content.

    Returns its plain text (entities unescaped, paragraphs separated by a blank
    line, ``<br>`` as a line break, script and style contents dropped; escaped
    markup such as ``&lt;script&gt;`` stays as text) and its links. Never
    raises on malformed HTML: the parser is lenient, like a browser.
    """
    if _SIMPLE_HTML.fullmatch(content):
        # The markup Mastodon itself produces (p, br, a, span with quoted
        # attributes): read with regular expressions, some 20x faster than
        # HTMLParser, which stays the reader of everything else.
        parts, links, spans = _read_simple_html(content)
    else:
        parts, links, spans = _read_any_html(content)
    text = _assemble(parts)
    if spans:
        outside = list(parts)
        for first, end in spans:
            for index in range(first, end):
                if outside[index] not in (_PARAGRAPH, "\n"):
                    outside[index] = " "
        text_outside_links = _assemble(outside)
    else:
        text_outside_links = text
    return HtmlContent(text=text, links=tuple(links), text_outside_links=text_outside_links)


def _assemble(parts: list[str]) -> str:
    """The text of the parts: paragraphs separated by a blank line, spaces around line breaks trimmed."""
    text = "".join(parts)
    paragraphs = (re.sub(r" *\n *", "\n", paragraph).strip() for paragraph in text.split(_PARAGRAPH))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def _read_any_html(content: str) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    parser = _TextExtractor()
    parser.feed(content)
    parser.close()
    return parser.parts, parser.links, parser.link_spans


_SIMPLE_TAG_PATTERN: Final = r'<(/?)(p|br|a|span)((?:\s+[a-z-]+="[^"<>]*")*)\s*(/?)>'
_SIMPLE_TAG: Final = re.compile(_SIMPLE_TAG_PATTERN)
# Possessive (++, *+): a text run is never split again on backtracking, which would take
# exponential time on markup that does not match (a <b> after a long text).
_SIMPLE_HTML: Final = re.compile(rf"(?:[^<]++|{_SIMPLE_TAG_PATTERN})*+")
_ATTRIBUTE: Final = re.compile(r'([a-z-]+)="([^"]*)"')


def _read_simple_html(content: str) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """What :class:`_TextExtractor` would collect from markup that ``_SIMPLE_HTML`` matches."""
    parts: list[str] = []
    links: list[str] = []
    spans: list[tuple[int, int]] = []
    anchors: list[tuple[str | None, str, int]] = []
    position = 0
    for tag in _SIMPLE_TAG.finditer(content):
        if tag.start() > position:
            parts.append(_WHITESPACE.sub(" ", html.unescape(content[position : tag.start()])))
        position = tag.end()
        closing, name, attributes, self_closing = tag.groups()
        if name == "br":
            if not closing:
                parts.append("\n")
        elif self_closing:
            continue
        elif name == "p":
            parts.append(_PARAGRAPH)
        elif name == "a" and not closing:
            values = {key: html.unescape(value) for key, value in _ATTRIBUTE.findall(attributes)}
            anchors.append((values.get("href"), values.get("class") or "", len(parts)))
        elif name == "a" and anchors:
            href, classes, first = anchors.pop()
            if _keep_link(links, href, classes, "".join(parts[first:]).strip()):
                spans.append((first, len(parts)))
    if position < len(content):
        parts.append(_WHITESPACE.sub(" ", html.unescape(content[position:])))
    return parts, links, spans


def _keep_link(links: list[str], href: str | None, classes: str, label: str) -> bool:
    """Add ``href`` to ``links`` when the anchor is a link (not a mention or a hashtag); say whether."""
    # Mastodon marks mentions "u-url mention" and hashtags "mention hashtag".
    is_mention = "mention" in classes.split() or "hashtag" in classes.split()
    if href and not is_mention and not label.startswith(("@", "#")):
        links.append(href)
        return True
    return False


def html_to_text(content: str) -> str:
    """Return the plain text of a status's HTML content (see :func:`read_html`)."""
    return read_html(content).text


_URL: Final = re.compile(
    # A link with its scheme, or one shown without it (Bluesky's ``record.text`` shortens links to
    # ``youtu.be/abc?si=x``) when a query follows: a host name, an optional path, ``?`` and more.
    r"https?://\S+|\b(?:[\w-]+\.)+[a-z]{2,}(?::\d+)?(?:/\S*)?\?\S+",
    re.IGNORECASE,
)


def contains_question(text: str) -> bool:
    """Tell whether a post asks something: a question mark outside of its URLs.

    Deliberately simple (no question-word detection): a question without a
    question mark is missed, a rhetorical one is counted. URLs are set aside
    because their query strings (``?page=2``) are not questions, also when a
    platform shows a link without its scheme (``youtu.be/abc?si=x``); a ``?``
    that ends a word (``open.today?``) is still a question mark. A platform
    that marks its links passes the text without them (Mastodon's ``<a>``:
    :attr:`HtmlContent.text_outside_links`; Bluesky's link facets:
    :func:`without_byte_ranges`), so a link shortened past its ``?`` is set aside too.
    """
    stripped = _URL.sub(" ", text)
    return "?" in stripped or "？" in stripped


def reply_interaction(
    platform: str,
    account: Account,
    observed: datetime,
    *,
    interaction_id: str,
    author_native_id: str,
    author_handle: str | None,
    created_at: datetime,
    replies_to: str | None,
    text: str,
    is_top_level: bool,
) -> dict[str, Any]:
    """A comment of the public as an ``interactions`` row of type ``reply``: a top-level one holding a
    question mark outside its links is a question (a reply inside a thread talks to the thread: no
    question); the platforms that comment in threads give no language. With ``replies_to`` ``None``,
    a post of the public about the account outside its threads (Graph's tags: a Page tagged in a post,
    an Instagram account in a media): a ``mention``, top-level, replying to no post of the account."""
    return {
        "platform": platform,
        "interaction_id": interaction_id,
        "account_id": account.account_id,
        "author_native_id": author_native_id,
        "author_handle": author_handle,
        "created_at": created_at,
        "interaction_type": "reply" if replies_to is not None else "mention",
        "in_reply_to_post_id": replies_to,
        "text": text,
        "language": None,
        "is_question": is_top_level and contains_question(text),
        "observed_at": observed,
    }


def without_byte_ranges(text: str, ranges: Iterable[tuple[int, int]]) -> str:
    """``text`` with each ``[start, end)`` range of its UTF-8 bytes replaced by a space.

    For Bluesky's facets, which index the UTF-8 bytes of ``record.text``. A
    range that is empty, reversed or outside the text is ignored; one that
    cuts a character in two drops that character.
    """
    data = text.encode("utf-8")
    kept: list[bytes] = []
    position = 0
    for first, end in sorted(ranges):
        start = max(first, position)  # overlapping ranges: the part not yet blanked
        if first < 0 or not start < end <= len(data):
            continue
        kept += [data[position:start], b" "]
        position = end
    if not kept:
        return text
    kept.append(data[position:])
    return b"".join(kept).decode("utf-8", errors="ignore")


def arrow_schema(record_type: RecordType) -> pa.Schema:
    """The Arrow schema of a record type's rows, as staged for the loader."""
    import pyarrow as pa

    return pa.schema([pa.field(column.name, _ARROW_TYPES[column.sql_type]) for column in record_type.columns])


_dtypes_by_record_type: dict[str, list[Any]] = {}


def frame_dtypes(record_type: RecordType) -> list[Any]:
    """The dtypes of a record type's frame as :func:`records_frame` builds it, in column order."""
    import pandas as pd

    if record_type.name not in _dtypes_by_record_type:
        _dtypes_by_record_type[record_type.name] = [
            pd.api.types.pandas_dtype(pandas_dtype(column)) for column in record_type.columns
        ]
    return _dtypes_by_record_type[record_type.name]


def records_table(record_type: RecordType, rows: Sequence[Mapping[str, object]]) -> pa.Table | None:
    """Build an Arrow table of a record type from rows keyed by column name.

    Returns a table of :func:`arrow_schema`, or ``None`` when a value does not
    take its column's type (a number for a text, a null in a count or a flag:
    pandas could not hold it as :data:`PANDAS_DTYPES` says). Raises
    ``KeyError`` when a row lacks a column.
    """
    import pyarrow as pa

    columns = []
    for column in record_type.columns:
        values = [row[column.name] for row in rows]
        try:
            array = pa.array(values, _ARROW_TYPES[column.sql_type])
        except (ValueError, TypeError, OverflowError):  # ArrowInvalid, ArrowTypeError, a NaT Arrow refuses
            return None
        if array.null_count and column.sql_type in _NOT_NULL_IN_PANDAS and not column.nullable:
            return None
        columns.append(array)
    return pa.Table.from_arrays(columns, schema=arrow_schema(record_type))


_NOT_NULL_IN_PANDAS: Final = ("BIGINT", "INTEGER", "BOOLEAN")
"""SQL types whose pandas dtype holds no null: pandas would turn such a column into floats or objects."""


def records_frame(record_type: RecordType, rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """Build a DataFrame of a record type from rows keyed by column name.

    Returns a frame with exactly the record type's columns, in order, each of
    the dtype :data:`PANDAS_DTYPES` gives its SQL type (text as pandas' string
    dtype with NaN for null, timestamps naive). Raises ``KeyError`` when a row
    lacks a column.
    """
    import pandas as pd

    # Through Arrow first: twice as fast on the few rows of a nightly batch. A value Arrow
    # would type otherwise (a null in a column without nulls, a number for a text) takes pandas'
    # route, which converts or raises as it always did.
    table = records_table(record_type, rows)
    if table is not None:
        frame = table.to_pandas()
        nullable_counts = {
            column.name: NULLABLE_COUNT_DTYPE
            for column in record_type.columns
            if pandas_dtype(column) == NULLABLE_COUNT_DTYPE
        }
        if nullable_counts:  # Arrow gives int64, or floats when a value is null
            frame = frame.astype(nullable_counts)
        if list(frame.dtypes) == frame_dtypes(record_type):
            return frame
    columns = {
        column.name: pd.Series([row[column.name] for row in rows], dtype=pandas_dtype(column))
        for column in record_type.columns
    }
    return pd.DataFrame(columns, columns=record_type.column_names)


def records_frames(records: Records) -> dict[str, pd.DataFrame]:
    """The frames of a source's records (see :func:`records_frame`), one per record type: empty for
    a type it does not give (an API's read gives no ``export_files``)."""
    return {
        record_type.name: records_frame(record_type, records.get(record_type.name, []))
        for record_type in RECORD_TYPES
    }


def count_alt_texts(media: list[JsonNode]) -> int:
    """How many Mastodon-shaped media attachments carry alt text (a non-blank ``description``)."""
    descriptions = (item.get_optional_str("description") for item in media)
    return sum(1 for description in descriptions if description and description.strip())
