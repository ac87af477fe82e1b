from __future__ import annotations

import json
import multiprocessing
import re
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from rapport.accounts import load_registry
from rapport.load import connect, load_batches
from rapport.validation import PART_FILE, StagedPart
from tests.conftest import PROJECT_ROOT
from tests.factories import ACCOUNT_ID, OBSERVED_AT, batch_frames, stage_batch

REGISTRY = load_registry(PROJECT_ROOT / "config" / "accounts.yml")


def query(warehouse: Path, sql: str) -> list[tuple]:
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


def test_a_batch_loads_its_records_and_the_registry(tmp_path: Path, warehouse: Path):
    batch = stage_batch(tmp_path / "b1", batch_frames(), OBSERVED_AT, "e1")
    result = load_batches(warehouse, REGISTRY, [batch])
    assert result.rows == {
        "account_snapshots": 1,
        "posts": 1,
        "interactions": 1,
        "thread_reads": 1,
        "export_files": 0,
    }
    assert query(warehouse, "select count(*) from raw.organizations") == [(8,)]
    assert query(warehouse, "select post_id, first_observed_at, observed_at from raw.posts") == [
        ("1", OBSERVED_AT, OBSERVED_AT)
    ]
    assert query(warehouse, "select post_id, reply_count, observed_at from raw.thread_reads") == [
        ("1", 2, OBSERVED_AT)
    ]
    assert query(warehouse, "select extraction_id, posts_rows, thread_reads_rows from raw.load_batches") == [
        ("e1", 1, 1)
    ]


def test_the_latest_read_of_a_thread_wins_in_any_load_order(tmp_path: Path, warehouse: Path):
    later = OBSERVED_AT + timedelta(days=3)
    first = stage_batch(tmp_path / "b1", batch_frames(), OBSERVED_AT, "e1")
    again = stage_batch(
        tmp_path / "b2",
        batch_frames(
            posts=[{"observed_at": later}],
            interactions=[{"observed_at": later}],
            snapshots=[{"observed_at": later}],
            thread_reads=[{"reply_count": 0, "observed_at": later}],
        ),
        later,
        "e2",
    )
    load_batches(warehouse, REGISTRY, [again, first])  # in any order: the newest read wins
    assert query(warehouse, "select reply_count, observed_at, first_observed_at from raw.thread_reads") == [
        (0, later, OBSERVED_AT)
    ]


def test_loading_the_same_batch_again_changes_nothing(tmp_path: Path, warehouse: Path):
    batch = stage_batch(tmp_path / "b1", batch_frames(), OBSERVED_AT, "e1")
    load_batches(warehouse, REGISTRY, [batch])
    before = query(
        warehouse, "select * from raw.posts union all select null, * exclude (platform) from raw.posts"
    )
    load_batches(warehouse, REGISTRY, [batch])
    assert query(warehouse, "select count(*) from raw.posts") == [(1,)]
    assert query(warehouse, "select count(*) from raw.account_snapshots") == [(1,)]
    after = query(
        warehouse, "select * from raw.posts union all select null, * exclude (platform) from raw.posts"
    )
    assert before == after


def test_a_newer_observation_updates_counts_and_keeps_the_first_observation(tmp_path: Path, warehouse: Path):
    later = OBSERVED_AT + timedelta(days=1)
    first = stage_batch(tmp_path / "b1", batch_frames(), OBSERVED_AT, "e1")
    second = stage_batch(
        tmp_path / "b2",
        batch_frames(posts=[{"like_count": 50, "observed_at": later}], snapshots=[{"observed_at": later}]),
        later,
        "e2",
    )
    load_batches(warehouse, REGISTRY, [first])
    load_batches(warehouse, REGISTRY, [second])
    assert query(warehouse, "select like_count, first_observed_at, observed_at from raw.posts") == [
        (50, OBSERVED_AT, later)
    ]
    assert query(warehouse, "select count(*) from raw.account_snapshots") == [(2,)]


def test_a_post_of_the_public_addressed_to_two_accounts_is_kept_for_each(tmp_path: Path, warehouse: Path):
    """One mention of two accounts of the same instance comes with each one's notifications, under one id."""
    other = REGISTRY.accounts[1].account_id
    assert other != ACCOUNT_ID
    mention = {"interaction_id": "110", "interaction_type": "mention", "in_reply_to_post_id": None}
    first = stage_batch(tmp_path / "b1", batch_frames(interactions=[mention]), OBSERVED_AT, "e1")
    second = stage_batch(
        tmp_path / "b2", batch_frames(interactions=[mention | {"account_id": other}]), OBSERVED_AT, "e2"
    )
    load_batches(warehouse, REGISTRY, [first, second])
    load_batches(warehouse, REGISTRY, [second])  # and again, alone: still one row each
    assert query(
        warehouse, "select account_id, interaction_id from raw.interactions order by account_id"
    ) == sorted([(ACCOUNT_ID, "110"), (other, "110")])


def test_posts_of_two_accounts_under_the_same_id_are_both_kept(tmp_path: Path, warehouse: Path):
    """A Mastodon status id is unique on its instance only: two accounts on two instances can
    publish posts under the same id, and neither replaces the other."""
    other = REGISTRY.accounts[1].account_id
    assert other != ACCOUNT_ID
    post = {"post_id": "110", "like_count": 3}
    first = stage_batch(tmp_path / "b1", batch_frames(posts=[post]), OBSERVED_AT, "e1")
    second = stage_batch(
        tmp_path / "b2",
        batch_frames(posts=[post | {"account_id": other, "like_count": 7}]),
        OBSERVED_AT,
        "e2",
    )
    load_batches(warehouse, REGISTRY, [first, second])
    load_batches(warehouse, REGISTRY, [second])  # and again, alone: still one row each
    assert query(
        warehouse, "select account_id, post_id, like_count from raw.posts order by account_id"
    ) == sorted([(ACCOUNT_ID, "110", 3), (other, "110", 7)])


def test_an_older_observation_loaded_late_does_not_overwrite_a_newer_one(tmp_path: Path, warehouse: Path):
    later = OBSERVED_AT + timedelta(days=1)
    newer = stage_batch(
        tmp_path / "b2", batch_frames(posts=[{"like_count": 50, "observed_at": later}]), later, "e2"
    )
    older = stage_batch(tmp_path / "b1", batch_frames(), OBSERVED_AT, "e1")
    load_batches(warehouse, REGISTRY, [newer])
    load_batches(warehouse, REGISTRY, [older])
    assert query(warehouse, "select like_count, first_observed_at, observed_at from raw.posts") == [
        (50, OBSERVED_AT, later)
    ]


@pytest.mark.parametrize("rows_per_merge", [1000, 1], ids=["merged-together", "merged-one-by-one"])
def test_two_batches_with_the_same_post_in_one_load_keep_the_newest(
    tmp_path: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch, rows_per_merge: int
):
    from rapport import load

    monkeypatch.setattr(load, "_ROWS_PER_MERGE", rows_per_merge)
    later = OBSERVED_AT + timedelta(days=1)
    batches = [  # the newer observation first: slicing must not let the older one win
        stage_batch(
            tmp_path / "b2", batch_frames(posts=[{"like_count": 9, "observed_at": later}]), later, "e2"
        ),
        stage_batch(tmp_path / "b1", batch_frames(), OBSERVED_AT, "e1"),
    ]
    load_batches(warehouse, REGISTRY, batches)
    assert query(warehouse, "select like_count, first_observed_at from raw.posts") == [(9, OBSERVED_AT)]


def _three_batches(directory: Path) -> list[Path]:
    """Three batches of other posts, interactions and snapshots; the third sees post 1 again, later."""
    later = OBSERVED_AT + timedelta(days=1)
    return [
        stage_batch(directory / "b1", batch_frames(), OBSERVED_AT, "e1"),
        stage_batch(
            directory / "b2",
            batch_frames(
                posts=[{"post_id": "2"}, {"post_id": "3"}],
                interactions=[{"interaction_id": "i2"}],
                snapshots=[{"observed_at": OBSERVED_AT + timedelta(hours=1)}],
            ),
            OBSERVED_AT,
            "e2",
        ),
        stage_batch(
            directory / "b3",
            batch_frames(
                posts=[{"post_id": "1", "like_count": 7, "observed_at": later}, {"post_id": "4"}],
                interactions=[{"interaction_id": "i3"}],
                snapshots=[{"observed_at": later}],
            ),
            later,
            "e3",
        ),
    ]


@pytest.mark.parametrize("repeated", [False, True], ids=["keys-unique", "a-key-repeated"])
def test_a_first_load_in_slices_equals_one_batch_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repeated: bool
):
    """Into an empty table, unique keys go in with one insert whatever the slicing; a repeated key
    makes the load merge slice by slice. Either gives the rows of loading each batch on its own."""
    from rapport import load

    batches = _three_batches(tmp_path)
    if not repeated:
        batches = batches[:2]
    one_by_one, sliced = tmp_path / "one_by_one.duckdb", tmp_path / "sliced.duckdb"
    for batch in batches:
        load_batches(one_by_one, REGISTRY, [batch])
    monkeypatch.setattr(load, "_ROWS_PER_MERGE", 1)
    statements: list[str] = []
    real_connect = load.connect

    class Recording:
        def __init__(self, connection: duckdb.DuckDBPyConnection):
            self._connection = connection

        def __getattr__(self, name: str):
            return getattr(self._connection, name)

        def execute(self, statement: str, *arguments):
            statements.append(" ".join(statement.split()))
            return self._connection.execute(statement, *arguments)

    monkeypatch.setattr(load, "connect", lambda *arguments: Recording(real_connect(*arguments)))
    result = load_batches(sliced, REGISTRY, batches)
    posts_statements = [statement for statement in statements if "into raw.posts" in statement]
    deletes = [statement for statement in statements if statement.startswith("delete from raw.posts")]
    if repeated:
        # Each slice replaces the stored rows of its keys with the newest observation of each.
        assert len(posts_statements) == 3 and len(deletes) == 3
        assert all("from observed" in statement for statement in posts_statements)
    else:
        assert len(posts_statements) == 1 and posts_statements[0].startswith("insert") and not deletes
    assert result.rows["posts"] == (5 if repeated else 3)
    for table in ("posts", "interactions", "account_snapshots"):
        assert query(sliced, f"select * from raw.{table} order by all") == query(
            one_by_one, f"select * from raw.{table} order by all"
        ), table


def test_a_failing_load_writes_nothing(tmp_path: Path, warehouse: Path):
    good = stage_batch(tmp_path / "b1", batch_frames(), OBSERVED_AT, "e1")
    load_batches(warehouse, REGISTRY, [good])
    broken = stage_batch(tmp_path / "b2", batch_frames(posts=[{"post_id": "2"}]), OBSERVED_AT, "e2")
    broken.file("interactions").write_bytes(b"truncated")
    with pytest.raises(duckdb.Error):
        load_batches(warehouse, REGISTRY, [good, broken])
    assert query(warehouse, "select post_id from raw.posts") == [("1",)]
    assert query(warehouse, "select extraction_id from raw.load_batches") == [("e1",)]


def _hold_open(path: str, ready, release) -> None:
    connection = duckdb.connect(path)
    ready.set()
    release.wait(30)
    connection.close()


def test_a_second_writer_is_refused_with_a_message_naming_the_warehouse(warehouse: Path):
    connect(warehouse).close()
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_open, args=(str(warehouse), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(duckdb.IOException, match="another process holds it"):
            connect(warehouse)
    finally:
        release.set()
        holder.join(30)
    assert datetime.now() > OBSERVED_AT  # the holder released the file; it opens again
    connect(warehouse).close()


def test_a_warehouse_created_with_primary_keys_is_migrated_without_them_and_keeps_its_rows(
    tmp_path: Path, warehouse: Path
):
    load_batches(warehouse, REGISTRY, [stage_batch(tmp_path / "b1", batch_frames(), OBSERVED_AT, "e1")])
    connection = duckdb.connect(str(warehouse))  # as Rapport 0.1 made it: a primary key on each record table
    for table, key in (("posts", "platform, post_id"), ("interactions", "platform, interaction_id")):
        columns = connection.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
        definition = ", ".join(f"{name} {data_type}" for name, data_type in columns)
        connection.execute(f"create table raw.{table}_keyed ({definition}, primary key ({key}))")
        connection.execute(f"insert into raw.{table}_keyed select * from raw.{table}")
        connection.execute(f"drop table raw.{table}")
        connection.execute(f"alter table raw.{table}_keyed rename to {table}")
    connection.close()
    assert query(
        warehouse,
        "select count(*) from duckdb_constraints() where constraint_type = 'PRIMARY KEY' "
        "and schema_name = 'raw' and table_name in ('posts', 'interactions')",
    ) == [(2,)]
    later = OBSERVED_AT + timedelta(days=1)
    batch = stage_batch(
        tmp_path / "b2", batch_frames(posts=[{"like_count": 9, "observed_at": later}]), later, "e2"
    )
    load_batches(warehouse, REGISTRY, [batch])
    assert query(
        warehouse,
        "select count(*) from duckdb_constraints() where constraint_type = 'PRIMARY KEY' "
        "and schema_name = 'raw' and table_name in ('posts', 'interactions')",
    ) == [(0,)]
    assert query(warehouse, "select like_count, first_observed_at from raw.posts") == [(9, OBSERVED_AT)]


def test_a_memory_limit_is_applied_and_a_malformed_one_is_refused_naming_the_setting(
    tmp_path: Path, warehouse: Path
):
    batch = stage_batch(tmp_path / "b1", batch_frames(), OBSERVED_AT, "e1")
    assert load_batches(warehouse, REGISTRY, [batch], memory_limit="512MB").rows["posts"] == 1
    hostile = "3GB'; drop table raw.posts; --"
    with pytest.raises(ValueError, match=re.escape(f"RAPPORT_DUCKDB_MEMORY_LIMIT: {hostile!r} is not")):
        load_batches(warehouse, REGISTRY, [batch], memory_limit=hostile)
    assert query(warehouse, "select count(*) from raw.posts") == [(1,)]


def test_a_warehouse_made_before_account_states_is_upgraded_its_snapshots_active_and_counts_nullable(
    tmp_path: Path, warehouse: Path
):
    """Issue 15: account_state and moved_to_handle are added, the counts lose their not null."""
    connection = duckdb.connect(str(warehouse))  # raw.account_snapshots as Rapport made it before
    connection.execute("create schema raw")
    connection.execute(
        "create table raw.account_snapshots (platform varchar not null, account_id varchar not null, "
        "account_native_id varchar not null, handle varchar not null, display_name varchar, "
        "followers_count bigint not null, following_count bigint not null, posts_count bigint not null, "
        "account_created_at timestamp, observed_at timestamp not null)"
    )
    connection.execute(
        "insert into raw.account_snapshots values ('demo', ?, '100', '@petit_theatre', 'Le Petit Théâtre', "
        "500, 80, 120, null, ?)",
        [ACCOUNT_ID, OBSERVED_AT - timedelta(days=7)],
    )
    connection.close()
    suspended = {"account_state": "suspended", "followers_count": None, "following_count": None}
    batch = stage_batch(
        tmp_path / "b1", batch_frames(snapshots=[suspended | {"posts_count": None}]), OBSERVED_AT, "e1"
    )
    load_batches(warehouse, REGISTRY, [batch])
    assert query(
        warehouse,
        "select account_state, followers_count, moved_to_handle from raw.account_snapshots order by observed_at",
    ) == [("active", 500, None), ("suspended", None, None)]
    assert query(
        warehouse,
        "select column_name, is_nullable from duckdb_columns() where table_name = 'account_snapshots' "
        "and column_name in ('account_state', 'followers_count', 'posts_count') order by column_name",
    ) == [("account_state", False), ("followers_count", True), ("posts_count", True)]
    load_batches(warehouse, REGISTRY, [batch])  # a second load finds nothing to upgrade
    assert query(warehouse, "select count(*) from raw.account_snapshots") == [(2,)]


def _stage_with_window(directory: Path, extraction_id: str, reads_since: str | None) -> StagedPart:
    """A batch whose part says its window (as validation writes it) and, maybe, the oldest thread read."""
    part = stage_batch(directory, batch_frames(), OBSERVED_AT, extraction_id)
    [batch] = part.batches
    batch = batch | {"window": {"since": "2026-11-01T00:00:00+00:00", "until": "2026-11-16T00:00:00+00:00"}}
    if reads_since is not None:
        batch["reads_since"] = reads_since
    (directory / PART_FILE).write_text(json.dumps([batch]))
    return StagedPart(directory, (batch,))


def test_a_batch_that_read_threads_older_than_its_window_logs_the_oldest_as_its_window_since(
    tmp_path: Path, warehouse: Path
):
    # dbt's incremental models refresh each account's weeks from the earliest window_since loaded.
    old = _stage_with_window(tmp_path / "b1", "e1", reads_since="2026-06-02T10:30:00+00:00")
    recent = _stage_with_window(tmp_path / "b2", "e2", reads_since=None)
    load_batches(warehouse, REGISTRY, [old, recent])
    assert query(warehouse, "select extraction_id, window_since from raw.load_batches order by 1") == [
        ("e1", datetime(2026, 6, 2, 10, 30)),
        ("e2", datetime(2026, 11, 1)),
    ]
