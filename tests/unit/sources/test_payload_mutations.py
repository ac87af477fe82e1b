"""Bad input: every source reads damaged payloads into valid records or refuses them naming page and field.

The payloads are real-shaped (the recorded Mastodon and Bluesky fixtures, the
demo's simulated pages), damaged by the strategies of :mod:`tests.mutations`.
Whatever the damage, ``normalize`` either returns the record frames the
validation and the loader expect (columns, dtypes, writable as Parquet) or
raises ``NormalizationError`` naming a damaged page and the field or body at
fault. Any other exception (KeyError, TypeError, OverflowError,
UnicodeEncodeError, RecursionError...) would escape the validation step and
stop the run for every account.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings

from rapport.records import RECORD_TYPES
from rapport.sources import NormalizationError, Page, get_source
from rapport.sources.payloads import JsonNode, load_json, pandas_dtype, records_frames, records_table
from rapport.validation.suites import conforms
from tests.mutations import (
    COUNTS,
    Mutated,
    Sample,
    bluesky_sample,
    demo_sample,
    known_damage,
    mastodon_sample,
    mutated_extractions,
)

DEMO = demo_sample()
MASTODON = mastodon_sample()
BLUESKY = bluesky_sample()

# Deterministic for CI: the same examples every run, no example database.
MUTATIONS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def normalize_or_refuse(sample: Sample, mutated: Mutated) -> dict[str, Any] | None:
    """Normalize damaged pages; return the frames, or None when refused with a precise error."""
    source = get_source(sample.platform)
    try:
        records = source.normalize(list(mutated.pages), sample.account, sample.observed_at)
    except NormalizationError as error:
        message = str(error)
        assert any(endpoint in message for endpoint in mutated.damaged_endpoints), (
            f"the error names none of the damaged pages {sorted(mutated.damaged_endpoints)}: {message[:300]}"
        )
        assert re.search(r"field \$|body is not valid JSON|HTTP status", message), (
            f"names no field: {message[:300]}"
        )
        assert len(message) < 2000, f"the error carries the payload: {len(message)} characters"
        return None
    for record_type in RECORD_TYPES:  # validation types many batches' rows at once
        assert records_table(record_type, records.get(record_type.name, [])) is not None, record_type.name
    frames: dict[str, Any] = records_frames(records)
    assert_record_frames(frames)
    return frames


def assert_record_frames(frames: dict[str, Any]) -> None:
    """Frames as validation and loading expect them: every record type, its columns and dtypes, Parquet-writable."""
    assert sorted(frames) == sorted(record_type.name for record_type in RECORD_TYPES)
    for record_type in RECORD_TYPES:
        frame = frames[record_type.name]
        assert list(frame.columns) == record_type.column_names
        dtypes = {name: str(dtype) for name, dtype in frame.dtypes.items()}
        assert dtypes == {column.name: pandas_dtype(column) for column in record_type.columns}
        assert conforms(frame, record_type)
        frame.to_parquet(io.BytesIO(), index=False)  # what the validation step does with it next


KNOWN_DAMAGE = {sample.platform: known_damage(sample) for sample in (DEMO, MASTODON, BLUESKY)}


def with_known_damage(sample: Sample) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def decorate(test: Callable[..., None]) -> Callable[..., None]:
        for mutated in KNOWN_DAMAGE[sample.platform]:
            test = example(mutated=mutated)(test)
        return test

    return decorate


@MUTATIONS
@with_known_damage(DEMO)
@given(mutated=mutated_extractions(DEMO))
def test_demo_normalize_reads_or_refuses_every_damaged_payload(mutated: Mutated) -> None:
    event("read into records" if normalize_or_refuse(DEMO, mutated) else "refused")


@MUTATIONS
@with_known_damage(MASTODON)
@given(mutated=mutated_extractions(MASTODON))
def test_mastodon_normalize_reads_or_refuses_every_damaged_payload(mutated: Mutated) -> None:
    event("read into records" if normalize_or_refuse(MASTODON, mutated) else "refused")


@MUTATIONS
@with_known_damage(BLUESKY)
@given(mutated=mutated_extractions(BLUESKY))
def test_bluesky_normalize_reads_or_refuses_every_damaged_payload(mutated: Mutated) -> None:
    event("read into records" if normalize_or_refuse(BLUESKY, mutated) else "refused")


@pytest.mark.parametrize("sample", [DEMO, MASTODON, BLUESKY], ids=lambda sample: sample.platform)
def test_the_undamaged_samples_normalize_into_posts_and_interactions(sample: Sample) -> None:
    frames = normalize_or_refuse(sample, Mutated(sample.pages, frozenset(), ()))
    assert frames is not None
    assert len(frames["posts"]) > 0 and len(frames["interactions"]) > 0


@pytest.mark.parametrize(
    ("sample", "mutated"),
    [(sample, mutated) for sample in (DEMO, MASTODON, BLUESKY) for mutated in KNOWN_DAMAGE[sample.platform]],
    ids=lambda value: value.platform if isinstance(value, Sample) else value.changes[0][:60],
)
def test_the_known_damage_is_refused_naming_page_and_field(sample: Sample, mutated: Mutated) -> None:
    assert normalize_or_refuse(sample, mutated) is None, "read into records"


# -- how JsonNode refuses them ------------------------------------------------------------------------------


def node(value: object) -> JsonNode:
    return JsonNode(value, "accounts/lookup", "$")


@pytest.mark.parametrize("count", [value for value in COUNTS if not -(2**63) <= value < 2**63])
def test_a_count_beyond_64_bits_is_refused_naming_the_field(count: int) -> None:
    with pytest.raises(NormalizationError, match=r"accounts/lookup: field \$\.followers_count: .*64-bit"):
        node({"followers_count": count}).get_int("followers_count")


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_timestamp_whose_utc_time_falls_outside_the_calendar_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(NormalizationError, match=r"field \$\.created_at: expected an ISO 8601 timestamp"):
        node({"created_at": text}).get_timestamp("created_at")


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "\ud83d"])
def test_a_string_with_an_unpaired_surrogate_is_refused_naming_the_field(text: str) -> None:
    for read in (JsonNode.get_str, JsonNode.get_optional_str):
        with pytest.raises(NormalizationError, match=r"field \$\.acct: .*unpaired surrogate"):
            read(node({"acct": text}), "acct")


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b"9" * 5000, b"\xed\xa0\x80", b"\xef\xbb\xbf{}"],
    ids=["nested 100000 deep", "5000 digits", "encoded surrogate", "byte order mark"],
)
def test_a_body_json_cannot_hold_is_refused_as_not_json(body: bytes) -> None:
    with pytest.raises(NormalizationError, match="accounts/lookup: body is not valid JSON"):
        load_json(Page("accounts/lookup", body))
