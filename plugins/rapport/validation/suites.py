"""The Great Expectations suites, written in code, one per record type.

Each suite is derived from :mod:`rapport.records` (columns, types, keys) plus
the rules a relationship score relies on: counts are never negative, a post
is not published after it was observed nor before the platforms existed,
enumerations hold, and reply references are consistent.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from rapport.records import (
    ACCOUNT_SNAPSHOTS,
    ACCOUNT_STATES,
    COUNTS_REQUIRED_WHEN_ACTIVE,
    EXPORT_FILES,
    INTERACTION_TYPES,
    INTERACTIONS,
    POST_TYPES,
    POSTS,
    THREAD_READS,
    RecordType,
)
from rapport.sources import platform_names, platforms

if TYPE_CHECKING:
    import great_expectations as gx
    import pandas as pd
    from great_expectations.expectations import Expectation

# Before any social platform existed: a timestamp earlier than this is a parsing error.
EARLIEST_PLAUSIBLE: Final = datetime(2000, 1, 1)

# Types accepted per SQL type. Text columns are handed to GX as object columns
# (see BatchValidator.validate), so "str" checks each value is a string:
# GX 1.24 cannot name pandas 3's default string dtype.
PANDAS_TYPES: Final = {
    "VARCHAR": ["str"],
    "BIGINT": ["int64", "Int64", "int32", "Int32"],
    "INTEGER": ["int64", "Int64", "int32", "Int32"],
    "BOOLEAN": ["bool", "boolean"],
    "TIMESTAMP": ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"],
}

_COUNT_TYPES: Final = ("BIGINT", "INTEGER")


BATCH_COLUMN: Final = "extraction_id"
"""Added to the rows of many batches validated together, to tell whose row failed."""


def build_suite(record_type: RecordType, *, combined: bool = False) -> gx.ExpectationSuite:
    """Return the expectation suite for one record type (not yet added to a context).

    ``combined``: the suite for many batches at once, already checked for
    columns and types, their rows tagged with ``BATCH_COLUMN``: it leaves out
    the table-level checks and makes keys unique per batch.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    expectations: list[Expectation] = []
    if not combined:
        expectations.append(gxe.ExpectTableColumnsToMatchOrderedList(column_list=record_type.column_names))
    for column in record_type.columns:
        if not combined:
            type_list = PANDAS_TYPES[column.sql_type]
            if column.nullable and column.sql_type in _COUNT_TYPES:
                type_list = [*type_list, "int"]  # GX reads a nullable count as Python ints (see validation)
            expectations.append(gxe.ExpectColumnValuesToBeInTypeList(column=column.name, type_list=type_list))
        if not column.nullable:
            expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=column.name))
        if column.sql_type in _COUNT_TYPES:
            expectations.append(gxe.ExpectColumnValuesToBeBetween(column=column.name, min_value=0))
        if column.sql_type == "TIMESTAMP":
            expectations.append(
                gxe.ExpectColumnValuesToBeBetween(column=column.name, min_value=EARLIEST_PLAUSIBLE)
            )
    key = [BATCH_COLUMN, *record_type.key] if combined else list(record_type.key)
    if len(key) == 1:
        expectations.append(gxe.ExpectColumnValuesToBeUnique(column=key[0]))
    else:
        expectations.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=key))
    expectations.append(gxe.ExpectColumnValuesToBeInSet(column="platform", value_set=list(platform_names())))
    expectations.extend(_RULES[record_type.name]())
    name = f"{record_type.name}_combined" if combined else record_type.name
    return gx.ExpectationSuite(name=name, expectations=expectations)


def conforms(frame: pd.DataFrame, record_type: RecordType) -> bool:
    """True when a frame has exactly the record type's columns, in order, each of its type.

    Such frames can be validated together, many batches in one run.
    """
    from pandas.api import types

    from rapport.sources.payloads import frame_dtypes

    if list(frame.columns) != record_type.column_names:
        return False
    if list(frame.dtypes) == frame_dtypes(record_type):  # as the sources build them: no value to check
        return True
    for column in record_type.columns:
        values = frame[column.name]
        if column.sql_type == "VARCHAR":
            if types.is_object_dtype(values):  # a string dtype holds only strings; object columns may not
                if not all(isinstance(value, str) for value in values.dropna()):
                    return False
            elif not types.is_string_dtype(values):
                return False
        elif column.sql_type in _COUNT_TYPES:
            if not types.is_integer_dtype(values):
                return False
        elif column.sql_type == "BOOLEAN":
            if not types.is_bool_dtype(values):
                return False
        elif not types.is_datetime64_dtype(values):
            return False
    return True


def _not_after_observation(column: str) -> Expectation:
    import great_expectations.expectations as gxe

    return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="observed_at", column_B=column, or_equal=True, ignore_row_if="either_value_is_missing"
    )


def _when(condition: str, column: str) -> Expectation:
    import great_expectations.expectations as gxe

    return gxe.ExpectColumnValuesToNotBeNull(
        column=column, row_condition=condition, condition_parser="pandas"
    )


def _active_on_platforms_showing(column: str) -> str:
    """The rows of live accounts on the platforms that show ``column`` of their snapshots."""
    hiding = [contract.name for contract in platforms() if not contract.shows(ACCOUNT_SNAPSHOTS.name, column)]
    if not hiding:
        return 'account_state == "active"'
    return f'account_state == "active" and platform not in {hiding!r}'


def _account_snapshot_rules() -> list[Expectation]:
    import great_expectations.expectations as gxe

    return [
        _not_after_observation("account_created_at"),
        gxe.ExpectColumnValuesToBeInSet(column="account_state", value_set=list(ACCOUNT_STATES)),
        # A suspended account shows no counts: NULL, never 0. A live one always shows them, but those
        # its platform never shows (a YouTube channel's subscriptions): NULL on every row of it.
        *(_when(_active_on_platforms_showing(column), column) for column in COUNTS_REQUIRED_WHEN_ACTIVE),
        _when('account_state == "moved"', "moved_to_handle"),
    ]


def _post_rules() -> list[Expectation]:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeInSet(column="post_type", value_set=list(POST_TYPES)),
        _not_after_observation("created_at"),
        _when('post_type == "reply"', "in_reply_to_post_id"),
        _when('post_type == "repost"', "reposted_post_id"),
        gxe.ExpectColumnValuesToBeNull(
            column="in_reply_to_post_id", row_condition='post_type != "reply"', condition_parser="pandas"
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="media_count", column_B="media_with_alt_text_count", or_equal=True
        ),
    ]


def _interaction_rules() -> list[Expectation]:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeInSet(column="interaction_type", value_set=list(INTERACTION_TYPES)),
        _not_after_observation("created_at"),
        _when('interaction_type == "reply"', "in_reply_to_post_id"),
    ]


def _thread_read_rules() -> list[Expectation]:
    return []  # the generic ones suffice: keys, counts never negative, plausible times


def _export_file_rules() -> list[Expectation]:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="covers_until", column_B="covers_since"),
        _not_after_observation("covers_until"),
    ]


_RULES: Final = {
    ACCOUNT_SNAPSHOTS.name: _account_snapshot_rules,
    POSTS.name: _post_rules,
    INTERACTIONS.name: _interaction_rules,
    THREAD_READS.name: _thread_read_rules,
    EXPORT_FILES.name: _export_file_rules,
}
