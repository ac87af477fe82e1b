"""One benchmarked step, run in its own process by ``benchmarks.run`` so its time and memory are its own.

Usage: ``python -m benchmarks.steps <step> <size>`` with the Rapport home in
``RAPPORT_HOME``. Prints one JSON line of what the step produced (row counts).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

HISTORY_UNTIL = datetime(2026, 11, 16, tzinfo=UTC)
"""End of the generated history (a Monday): 52 full ISO weeks before it."""
NIGHTLY_UNTIL = HISTORY_UNTIL + timedelta(days=1)
"""The incremental nightly run: one more day, and the lookback window re-fetched."""
WEEKS = 52


def generate(size: int) -> dict[str, Any]:
    """The registry of ``size`` scale organizations, and 52 weeks of their history in the landing zone."""
    from rapport.accounts import load_registry
    from rapport.settings import get_settings
    from rapport.simulators.scale import land_world, write_registry

    settings = get_settings()
    registry = load_registry(write_registry(settings.accounts_file, size))
    return land_world(
        settings.landing_dir, registry.accounts, HISTORY_UNTIL - timedelta(weeks=WEEKS), HISTORY_UNTIL
    )


def generate_nightly(size: int) -> dict[str, Any]:
    """The nightly extraction of every account, as the pipeline plans it for each one.

    ``plan_extraction`` is the extract task's own planning: the watermark and
    the thread ledger of each account. The scale accounts' source reads
    notifications, not reply threads, so their ledgers stay empty and plan no
    thread call: the notifications are read from the watermark
    (``Window.replies_since``), the statuses from the lookback. The accounts
    are landed window by window.
    """
    from rapport.accounts import load_registry
    from rapport.pipeline import plan_extraction
    from rapport.settings import get_settings
    from rapport.simulators.scale import land_world
    from rapport.sources import Window

    settings = get_settings()
    registry = load_registry(settings.accounts_file)
    by_window: dict[Window, list[Any]] = {}
    for account in registry.accounts:
        plan = plan_extraction(settings, account, NIGHTLY_UNTIL)
        if plan.ledger.posts:  # the scale source reads no thread: a ledger here is another home's
            raise SystemExit(f"{account.account_id}: a scale account has a thread ledger")
        by_window.setdefault(plan.window, []).append(account)
    totals: dict[str, Any] = {}
    for window, accounts in by_window.items():
        landed = land_world(
            settings.landing_dir, accounts, window.since, window.until, replies_since=window.replies_since
        )
        for key, value in landed.items():
            totals[key] = totals.get(key, 0) + value
    return totals


def validate(size: int, until: datetime = HISTORY_UNTIL) -> dict[str, Any]:
    from rapport.pipeline import validate_run

    result = validate_run(until)
    if result["quarantined"]:
        raise SystemExit(f"{len(result['quarantined'])} batches quarantined: {result['quarantined'][:5]}")
    return {"staged": result["staged"]}


def load(size: int, until: datetime = HISTORY_UNTIL) -> dict[str, Any]:
    from rapport.pipeline import load_run

    return load_run(until)


def build(size: int) -> dict[str, Any]:
    from rapport.pipeline import build_models

    build_models()
    return _rows("marts.fct_relationship_scores")


def validate_nightly(size: int) -> dict[str, Any]:
    return validate(size, NIGHTLY_UNTIL)


def load_nightly(size: int) -> dict[str, Any]:
    return load(size, NIGHTLY_UNTIL)


def build_nightly(size: int) -> dict[str, Any]:
    return build(size)


def load_floor(size: int) -> dict[str, Any]:
    """DuckDB reading the loader's input files (the staged Parquet) into tables, one statement each."""
    import duckdb

    from rapport.records import RECORD_TYPES
    from rapport.settings import get_settings
    from rapport.validation import staged_parts

    settings = get_settings()
    parts = staged_parts(settings.staging_dir, [HISTORY_UNTIL.date()])
    floor = settings.data_dir / "floor.duckdb"
    floor.unlink(missing_ok=True)
    connection = duckdb.connect(str(floor))
    rows = {}
    for record_type in RECORD_TYPES:
        files = [str(part.file(record_type.name)) for part in parts]
        # The record type's columns, as the loader reads them (a part also says each row's batch).
        columns = ", ".join(record_type.column_names)
        connection.execute(
            f"create table {record_type.name} as select {columns} from read_parquet(?)", [files]
        )
        rows[record_type.name] = connection.execute(f"select count(*) from {record_type.name}").fetchone()[0]
    connection.close()
    floor.unlink()
    return rows


def json_floor(size: int) -> dict[str, Any]:
    """DuckDB reading the landed JSON pages of statuses and notifications into tables, one statement each."""
    import duckdb

    from rapport.landing import find_extractions, read_extraction
    from rapport.settings import get_settings

    landing = get_settings().landing_dir
    files: dict[str, list[str]] = {"accounts/statuses": [], "notifications": []}
    for path in find_extractions(landing, HISTORY_UNTIL.date()):
        for page in read_extraction(path).pages:
            if page["endpoint"] in files:
                files[page["endpoint"]].append(str(path / page["file"]))
    connection = duckdb.connect()
    rows = {}
    for endpoint, table in (("accounts/statuses", "statuses"), ("notifications", "notifications")):
        connection.execute(
            f"create table {table} as select * from read_json(?, format = 'array')", [files[endpoint]]
        )
        rows[table] = connection.execute(f"select count(*) from {table}").fetchone()[0]
    connection.close()
    return rows


def score_floor(size: int) -> dict[str, Any]:
    """One query that scans the loaded posts and interactions once, aggregating per account and ISO week."""
    import duckdb

    from rapport.settings import get_settings

    connection = duckdb.connect(str(get_settings().warehouse), read_only=True)
    rows = connection.execute(
        """
        create temporary table weekly as
        select
            account_id,
            date_trunc('week', created_at) as week_start_date,
            count(*) filter (where source = 'post') as posts,
            count(*) filter (where source = 'post' and post_type = 'reply') as replies,
            count(*) filter (where source = 'interaction') as interactions,
            count(*) filter (where is_question) as questions,
            count(distinct cast(created_at as date)) filter (where source = 'post') as active_days,
            sum(media_count) as media,
            sum(media_with_alt_text_count) as media_with_alt_text
        from (
            select 'post' as source, account_id, created_at, post_type, false as is_question,
                media_count, media_with_alt_text_count
            from raw.posts
            union all
            select 'interaction', account_id, created_at, null, is_question, 0, 0
            from raw.interactions
        )
        group by all
        """
    ).fetchall()
    count = connection.execute("select count(*) from weekly").fetchone()
    connection.close()
    return {"account_weeks": count[0] if count else 0, "statement_rows": len(rows)}


def _rows(table: str) -> dict[str, Any]:
    import duckdb

    from rapport.settings import get_settings

    connection = duckdb.connect(str(get_settings().warehouse), read_only=True)
    count = connection.execute(f"select count(*) from {table}").fetchone()
    connection.close()
    return {table: count[0] if count else 0}


STEPS = {
    function.__name__: function
    for function in (
        generate,
        validate,
        load,
        load_floor,
        json_floor,
        build,
        score_floor,
        generate_nightly,
        validate_nightly,
        load_nightly,
        build_nightly,
    )
}

if __name__ == "__main__":
    step, size = sys.argv[1], int(sys.argv[2])
    print(json.dumps(STEPS[step](size), default=str))
