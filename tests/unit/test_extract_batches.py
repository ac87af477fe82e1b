"""One task extracts a batch of accounts: a failing account stops nothing, a retry fetches only what is missing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

BEFORE_GREEN_VALLEY = datetime(
    2026, 8, 1, tzinfo=UTC
)  # the demo platform answers 404 for it until 2026-08-24


def landed_statuses(home: Path) -> dict[str, str]:
    from rapport.landing import find_extractions, read_extraction

    return {
        extraction.account_id: extraction.status
        for extraction in map(read_extraction, find_extractions(home / "data" / "landing"))
    }


def test_accounts_are_batched_in_registry_order(rapport_home: Path, monkeypatch: pytest.MonkeyPatch):
    from rapport.pipeline import list_account_batches, list_account_ids

    monkeypatch.setenv("RAPPORT_ACCOUNTS_PER_TASK", "3")
    batches = list_account_batches("demo")
    assert [len(batch) for batch in batches] == [3, 3, 2]
    assert [account for batch in batches for account in batch] == list_account_ids("demo")
    assert list_account_batches("mastodon") == []


def test_a_failing_account_fails_the_batch_by_name_after_the_others_are_landed(rapport_home: Path):
    from rapport.pipeline import ExtractionFailedError, extract_accounts, list_account_ids

    with pytest.raises(ExtractionFailedError) as failed:
        extract_accounts(list_account_ids("demo"), BEFORE_GREEN_VALLEY)
    message = str(failed.value)
    assert message.startswith("1 of 8 accounts failed extraction:\ndemo:@green_valley: SourceError")
    assert "404" in message
    statuses = landed_statuses(rapport_home)
    assert statuses.pop("demo:@green_valley") == "failed"  # what it answered is kept
    assert set(statuses.values()) == {"complete"} and len(statuses) == 7


def test_a_retry_fetches_only_the_accounts_not_yet_landed(
    rapport_home: Path, monkeypatch: pytest.MonkeyPatch
):
    from rapport import pipeline

    with pytest.raises(pipeline.ExtractionFailedError):
        pipeline.extract_accounts(pipeline.list_account_ids("demo"), BEFORE_GREEN_VALLEY)
    fetched: list[str] = []
    real_extract_account = pipeline.extract_account

    def recording(account_id: str, until: datetime | None, registry=None) -> dict:
        fetched.append(account_id)
        return real_extract_account(account_id, until, registry)

    monkeypatch.setattr(pipeline, "extract_account", recording)
    with pytest.raises(pipeline.ExtractionFailedError):
        pipeline.extract_accounts(pipeline.list_account_ids("demo"), BEFORE_GREEN_VALLEY, skip_landed=True)
    assert fetched == ["demo:@green_valley"]
    # A first try (or a re-run of the date) fetches every account again.
    fetched.clear()
    with pytest.raises(pipeline.ExtractionFailedError):
        pipeline.extract_accounts(pipeline.list_account_ids("demo"), BEFORE_GREEN_VALLEY)
    assert len(fetched) == 8
