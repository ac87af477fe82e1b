"""Build record frames and staged batches by hand, for tests that do not need a source."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from rapport.records import ACCOUNT_SNAPSHOTS, EXPORT_FILES, INTERACTIONS, POSTS, THREAD_READS, RecordType
from rapport.validation import PART_FILE, StagedPart

OBSERVED_AT = datetime(2026, 11, 23)
ACCOUNT_ID = "demo:@petit_theatre"

DEFAULTS: dict[str, dict[str, Any]] = {
    "account_snapshots": {
        "platform": "demo",
        "account_id": ACCOUNT_ID,
        "account_native_id": "100",
        "handle": "@petit_theatre",
        "display_name": "Le Petit Théâtre",
        "followers_count": 500,
        "following_count": 80,
        "posts_count": 120,
        "account_created_at": datetime(2020, 1, 1),
        "account_state": "active",
        "moved_to_handle": None,
        "observed_at": OBSERVED_AT,
    },
    "posts": {
        "platform": "demo",
        "post_id": "1",
        "account_id": ACCOUNT_ID,
        "created_at": datetime(2026, 11, 20, 10),
        "post_type": "original",
        "text": "Nous préparons la saison prochaine",
        "language": "fr",
        "in_reply_to_post_id": None,
        "in_reply_to_account_native_id": None,
        "is_reply_to_self": False,
        "reposted_post_id": None,
        "reposted_account_native_id": None,
        "mention_count": 0,
        "link_count": 0,
        "media_count": 1,
        "media_with_alt_text_count": 1,
        "reply_count": 2,
        "repost_count": 1,
        "like_count": 5,
        "edited_at": None,
        "is_deleted": False,
        "observed_at": OBSERVED_AT,
    },
    "interactions": {
        "platform": "demo",
        "interaction_id": "9001",
        "account_id": ACCOUNT_ID,
        "author_native_id": "555",
        "author_handle": "@spectatrice",
        "created_at": datetime(2026, 11, 20, 11),
        "interaction_type": "reply",
        "in_reply_to_post_id": "1",
        "text": "Quand ouvre la billetterie ?",
        "language": "fr",
        "is_question": True,
        "observed_at": OBSERVED_AT,
    },
    "thread_reads": {
        "platform": "demo",
        "account_id": ACCOUNT_ID,
        "post_id": "1",
        "reply_count": 2,
        "observed_at": OBSERVED_AT,
    },
    "export_files": {
        "platform": "demo",
        "account_id": ACCOUNT_ID,
        "export_format": "demo_export",
        "file_name": "export.csv",
        "file_sha256": "0" * 64,
        "covers_since": OBSERVED_AT - timedelta(days=7),
        "covers_until": OBSERVED_AT,
        "posts_listed": 1,
        "follower_days": 0,
        "observed_at": OBSERVED_AT,
    },
}


def frame(record_type: RecordType, *rows: dict[str, Any]) -> pd.DataFrame:
    """A frame of the record type's columns, in order, each row overriding the defaults."""
    records = [DEFAULTS[record_type.name] | row for row in rows]
    result = pd.DataFrame.from_records(records, columns=record_type.column_names)
    for column in record_type.columns:
        if column.sql_type == "TIMESTAMP":
            result[column.name] = pd.to_datetime(result[column.name])
        elif column.sql_type in ("BIGINT", "INTEGER"):
            result[column.name] = result[column.name].astype("Int64" if column.nullable else "int64")
        elif column.sql_type == "BOOLEAN":
            result[column.name] = result[column.name].astype(bool)
    return result


def batch_frames(
    posts: list[dict[str, Any]] | None = None,
    interactions: list[dict[str, Any]] | None = None,
    snapshots: list[dict[str, Any]] | None = None,
    thread_reads: list[dict[str, Any]] | None = None,
    export_files: list[dict[str, Any]] | None = None,
) -> dict[str, pd.DataFrame]:
    return {
        "account_snapshots": frame(ACCOUNT_SNAPSHOTS, *(snapshots if snapshots is not None else [{}])),
        "posts": frame(POSTS, *(posts if posts is not None else [{}])),
        "interactions": frame(INTERACTIONS, *(interactions if interactions is not None else [{}])),
        "thread_reads": frame(THREAD_READS, *(thread_reads if thread_reads is not None else [{}])),
        # An API's read imports no file: none unless a test gives some.
        "export_files": frame(EXPORT_FILES, *(export_files or [])),
    }


def stage_batch(
    directory: Path, frames: dict[str, pd.DataFrame], fetched_at: datetime, extraction_id: str
) -> StagedPart:
    """Stage one batch in a part of its own, as rapport.validation does for valid batches."""
    directory.mkdir(parents=True)
    for name, data in frames.items():
        data.to_parquet(directory / f"{name}.parquet", index=False)
    batch = {
        "account_id": ACCOUNT_ID,
        "extraction_id": extraction_id,
        "platform": "demo",
        "run_date": fetched_at.date().isoformat(),
        "fetched_at": fetched_at.isoformat() + "+00:00",
        "rows": {name: len(data) for name, data in frames.items()},
    }
    (directory / PART_FILE).write_text(json.dumps([batch]))
    return StagedPart(directory, (batch,))
