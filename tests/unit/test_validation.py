from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from rapport.records import RECORD_TYPES
from rapport.validation import BatchValidator
from tests.factories import batch_frames


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> BatchValidator:
    return BatchValidator(tmp_path_factory.mktemp("gx"))


def failures_of(validator: BatchValidator, **overrides) -> list[str]:
    return [str(failure) for failure in validator.validate(batch_frames(**overrides), run_name="test")]


def test_a_well_formed_batch_passes(validator: BatchValidator):
    assert failures_of(validator) == []


def test_an_empty_batch_passes(validator: BatchValidator):
    assert failures_of(validator, posts=[], interactions=[]) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"posts": [{"post_id": None}]}, "posts.post_id: expect_column_values_to_not_be_null"),
        ({"posts": [{}, {}]}, "posts: expect_compound_columns_to_be_unique (2 unexpected value(s)"),
        ({"posts": [{"like_count": -3}]}, "posts.like_count: expect_column_values_to_be_between"),
        ({"posts": [{"post_type": "story"}]}, "posts.post_type: expect_column_values_to_be_in_set"),
        (
            {"posts": [{"created_at": datetime(1999, 12, 31)}]},
            "posts.created_at: expect_column_values_to_be_between",
        ),
        (
            {"posts": [{"created_at": datetime(2027, 1, 1)}]},
            "posts.observed_at: expect_column_pair_values_a_to_be_greater_than_b",
        ),
        (
            {"posts": [{"post_type": "reply"}]},
            "posts.in_reply_to_post_id: expect_column_values_to_not_be_null",
        ),
        (
            {"posts": [{"in_reply_to_post_id": "7"}]},
            "posts.in_reply_to_post_id: expect_column_values_to_be_null",
        ),
        (
            {"posts": [{"media_count": 1, "media_with_alt_text_count": 2}]},
            "posts.media_count: expect_column_pair_values_a_to_be_greater_than_b",
        ),
        (
            {"interactions": [{"in_reply_to_post_id": None}]},
            "interactions.in_reply_to_post_id: expect_column_values_to_not_be_null",
        ),
        ({"interactions": [{"interaction_type": "like"}]}, "interactions.interaction_type"),
        ({"snapshots": [{"followers_count": -1}]}, "account_snapshots.followers_count"),
        (
            {"snapshots": [{"platform": "myspace"}]},
            "account_snapshots.platform: expect_column_values_to_be_in_set",
        ),
        (
            {"snapshots": [{"account_state": "hibernating"}]},
            "account_snapshots.account_state: expect_column_values_to_be_in_set",
        ),
        (
            {"snapshots": [{"followers_count": None}]},
            "account_snapshots.followers_count: expect_column_values_to_not_be_null",
        ),
        (
            {"snapshots": [{"account_state": "moved"}]},
            "account_snapshots.moved_to_handle: expect_column_values_to_not_be_null",
        ),
    ],
)
def test_each_broken_rule_is_reported_with_table_column_and_check(
    validator: BatchValidator, overrides: dict, expected: str
):
    failures = failures_of(validator, **overrides)
    assert any(failure.startswith(expected) for failure in failures), failures


@pytest.mark.parametrize("state", ["suspended", "deactivated", "taken_down"])
def test_an_account_that_is_not_active_passes_with_null_counts(validator: BatchValidator, state: str):
    gone = {"account_state": state, "followers_count": None, "following_count": None, "posts_count": None}
    assert failures_of(validator, snapshots=[gone]) == []
    assert validator.validate_many({"gone": batch_frames(snapshots=[gone])}, run_name="test")["gone"] == []


def test_a_column_of_the_wrong_type_is_reported(validator: BatchValidator):
    frames = batch_frames()
    frames["posts"]["like_count"] = frames["posts"]["like_count"].astype(str)
    failures = [str(failure) for failure in validator.validate(frames, run_name="test")]
    assert any(f.startswith("posts.like_count: expect_column_values_to_be_in_type_list") for f in failures)


def test_a_missing_column_or_table_is_reported(validator: BatchValidator):
    frames = batch_frames()
    frames["posts"] = frames["posts"].drop(columns=["language"])
    del frames["interactions"]
    failures = [str(failure) for failure in validator.validate(frames, run_name="test")]
    assert any(f.startswith("posts: expect_table_columns_to_match_ordered_list") for f in failures)
    assert "interactions: table present (missing from the batch)" in failures


def test_data_docs_are_built_as_a_browsable_site(validator: BatchValidator):
    failures_of(validator)
    index = validator.build_data_docs()
    assert index.name == "index.html"
    assert "posts" in Path(index).read_text(encoding="utf-8")


def test_many_batches_validated_together_have_each_failure_traced_to_its_own_batch(validator: BatchValidator):
    batches = {
        "good": batch_frames(),
        "null-key": batch_frames(posts=[{"post_id": None}]),
        "negative": batch_frames(interactions=[{"interaction_id": "7"}], posts=[{"like_count": -1}]),
        "same-ids-as-good": batch_frames(),  # the same post in two batches is no duplicate
    }
    failures = validator.validate_many(batches, run_name="test")
    assert failures["good"] == [] and failures["same-ids-as-good"] == []
    assert [str(f) for f in failures["null-key"]] == [
        "posts.post_id: expect_column_values_to_not_be_null (1 unexpected value(s), e.g. None)"
    ]
    assert [f.column for f in failures["negative"]] == ["like_count"]


def test_a_batch_of_the_wrong_shape_is_validated_alone_and_the_others_together(validator: BatchValidator):
    broken = batch_frames()
    broken["posts"] = broken["posts"].drop(columns=["language"])
    failures = validator.validate_many({"good": batch_frames(), "broken": broken}, run_name="test")
    assert failures["good"] == []
    assert any(
        str(f).startswith("posts: expect_table_columns_to_match_ordered_list") for f in failures["broken"]
    )


def test_validating_together_finds_what_validating_one_by_one_finds(validator: BatchValidator):
    cases = {
        "reply-without-parent": batch_frames(posts=[{"post_type": "reply"}]),
        "future": batch_frames(posts=[{"created_at": datetime(2027, 1, 1)}]),
        "duplicate": batch_frames(posts=[{}, {}]),
        "alt-over-media": batch_frames(posts=[{"media_count": 0, "media_with_alt_text_count": 1}]),
    }
    together = validator.validate_many(cases, run_name="test")
    for batch_id, frames in cases.items():
        alone = validator.validate(frames, run_name="test")
        assert {(f.table, f.check, f.column) for f in together[batch_id]} == {
            (f.table, f.check, f.column) for f in alone
        }, batch_id


def test_extractions_are_grouped_by_landed_bytes_and_count_in_order(monkeypatch: pytest.MonkeyPatch):
    from types import SimpleNamespace

    from rapport import validation

    monkeypatch.setattr(validation, "_GROUP_BYTES", 100)
    monkeypatch.setattr(validation, "_GROUP_EXTRACTIONS", 3)

    def extraction(name: str, *page_bytes: int) -> SimpleNamespace:
        return SimpleNamespace(name=name, pages=tuple({"bytes": size} for size in page_bytes))

    extractions = [
        extraction("a", 30, 30),
        extraction("b", 40),  # 100 bytes with a: still one group
        extraction("c", 1),  # over 100
        extraction("big", 500),  # bigger than a group: alone
        extraction("d"),
        SimpleNamespace(name="e", pages=({"bytes": "garbled"}, {})),  # a damaged manifest counts 0
        extraction("f"),
        extraction("g"),  # a fourth extraction: a new group
    ]
    groups = validation._groups(extractions)  # type: ignore[arg-type]
    assert [[item.name for item in group] for group in groups] == [
        ["a", "b"],
        ["c"],
        ["big"],
        ["d", "e", "f"],
        ["g"],
    ]


@pytest.mark.parametrize("at_fault", ["validated-alone", "validated-together"])
def test_valid_batches_are_staged_in_one_part_each_row_naming_its_batch(tmp_path: Path, at_fault: str):
    """One Parquet file per table for the group, the batches validated together taken at once. A batch
    that cannot take the tables' column types is refused with the reason, and the others are staged:
    validated alone (a float count), or together with the others (a timestamp finer than DuckDB's)."""
    from rapport.landing import Extraction
    from rapport.sources import Window
    from rapport.sources.payloads import frame_dtypes, records_frame
    from rapport.validation import BatchOutcome, _stage_part, combine, staged_parts
    from rapport.validation.suites import BATCH_COLUMN
    from tests.factories import ACCOUNT_ID, OBSERVED_AT

    def batch(extraction_id: str, frames: dict[str, pd.DataFrame]):
        extraction = Extraction(
            path=tmp_path / "landing" / extraction_id,
            extraction_id=extraction_id,
            platform="demo",
            account_id=ACCOUNT_ID,
            run_date=OBSERVED_AT.date(),
            window=Window(OBSERVED_AT - timedelta(days=14), OBSERVED_AT),
            fetched_at=OBSERVED_AT,
            status="complete",
            error=None,
            pages=(),
        )
        outcome = BatchOutcome(ACCOUNT_ID, extraction_id, str(extraction.path), "staged")
        outcome.rows = {name: len(frame) for name, frame in frames.items()}
        return extraction, outcome, frames

    def as_sources_build_them(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        built = {
            record_type.name: records_frame(record_type, frames[record_type.name].to_dict("records"))
            for record_type in RECORD_TYPES
        }
        assert all(list(built[rt.name].dtypes) == frame_dtypes(rt) for rt in RECORD_TYPES)
        return built

    same = as_sources_build_them(batch_frames(posts=[{"post_id": "1"}, {"post_id": "2"}]))
    other = as_sources_build_them(batch_frames(posts=[{"post_id": "3"}]))
    other["posts"] = other["posts"].astype({"post_id": object, "like_count": "Int64"})
    faulty = as_sources_build_them(batch_frames(posts=[{"post_id": "4"}]))
    if at_fault == "validated-alone":
        faulty["posts"] = faulty["posts"].astype({"like_count": float})
        faulty["posts"].loc[0, "like_count"] = 1.5
    else:
        faulty["posts"] = faulty["posts"].astype({"created_at": "datetime64[ns]"})
        faulty["posts"].loc[0, "created_at"] += pd.Timedelta(nanoseconds=1)
    batches = [batch("e1", same), batch("e2", other), batch("e3", faulty)]
    combined = combine({extraction.extraction_id: frames for extraction, _, frames in batches})
    together = ["e1", "e2"] if at_fault == "validated-alone" else ["e1", "e2", "e3"]
    assert combined.batch_ids == together

    _stage_part(tmp_path / "validated" / "run_date=2026-11-23" / "part=00001", batches, combined)

    [part] = staged_parts(tmp_path / "validated")
    assert [description["extraction_id"] for description in part.batches] == ["e1", "e2"]
    assert [outcome.failures for _, outcome, _ in batches[:2]] == [[], []]
    [failure] = batches[2][1].failures
    assert (failure.table, failure.check) == ("posts", "stageable")
    assert "cannot take the table's column types" in failure.detail, failure.detail
    posts = pd.read_parquet(part.file("posts"))
    assert list(zip(posts[BATCH_COLUMN], posts["post_id"], strict=True)) == [
        ("e1", "1"),
        ("e1", "2"),
        ("e2", "3"),
    ]
    assert part.rows("posts") == 3
    for table in ("account_snapshots", "interactions"):
        assert list(pd.read_parquet(part.file(table))[BATCH_COLUMN]) == ["e1", "e2"], table


def test_data_docs_load_nothing_from_the_network_and_list_the_validations_without_a_script(
    validator: BatchValidator,
):
    from html.parser import HTMLParser

    class Assets(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.loaded: list[str] = []  # what a browser fetches to draw the page
            self.scripts = 0
            self.links: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            attributes = dict(attrs)
            self.scripts += tag == "script"
            self.loaded += [attributes.get("src") or ""] if tag in ("script", "img") else []
            self.loaded += [attributes.get("href") or ""] if tag == "link" else []
            self.links += [attributes.get("href") or ""] if tag == "a" else []

    failures_of(validator)
    index = validator.build_data_docs()
    pages = sorted(index.parent.rglob("*.html"))
    assert len(pages) > 2
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assets = Assets()
        assets.feed(text)
        assert assets.scripts == 0, page
        assert [url for url in assets.loaded if url.startswith(("http:", "https:", "//"))] == [], page
        assert "url('http" not in text and 'url("http' not in text
        assert all((page.parent / url).exists() for url in assets.loaded if url), page
    listing = Assets()
    listing.feed(index.read_text(encoding="utf-8"))
    validations = [link for link in listing.links if link.startswith("validations/")]
    assert validations and all((index.parent / link).exists() for link in validations)
