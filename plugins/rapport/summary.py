"""The run summary in plain text: latest scores per account and the accounts that failed."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Final

from rapport import zones
from rapport.accounts import Registry
from rapport.landing import LandingError, find_extractions, read_extraction
from rapport.settings import Settings
from rapport.validation import RESULT_FILE

INDICATORS = ("trust", "openness", "involvement", "investment", "commitment", "overall")

RUN_SUMMARY_FILE: Final = "run_summary.txt"
"""The run summary as the summarize step logged it, beside the run date's validation report."""


def write_run_summary(data_dir: Path, run_date: date, text: str) -> Path:
    """Keep a run date's summary text (``rapport summary`` prints it); return its path."""
    path = zones.report_file(data_dir, run_date, RUN_SUMMARY_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def find_run_summary(data_dir: Path, run_date: date | None = None) -> Path | None:
    """The summary kept for ``run_date``, or, without one, for the latest run date that has one;
    ``None`` when there is none."""
    if run_date is not None:
        path = zones.report_file(data_dir, run_date, RUN_SUMMARY_FILE)
        return path if path.is_file() else None
    dated = zones.report_files(data_dir, RUN_SUMMARY_FILE)
    return dated[max(dated)] if dated else None


_LATEST_SCORES = """
    with latest_week as (
        select max(week_start_date) as week_start_date from marts.fct_relationship_scores
    )
    select
        organizations.organization_name as organization,
        scores.account_id,
        scores.week_start_date,
        {columns}
    from marts.fct_relationship_scores as scores
    inner join latest_week on scores.week_start_date = latest_week.week_start_date
    inner join marts.dim_organizations as organizations
        on scores.organization_id = organizations.organization_id
    order by scores.overall_score desc nulls last, organizations.organization_name
"""


def latest_scores_table(database: Path) -> str:
    """The latest complete week's scores per account, as an aligned text table.

    ``database`` is the warehouse or its published serving copy (same marts).
    """
    from rapport.load import connect

    columns = ",\n        ".join(f"scores.{name}_score as {name}" for name in INDICATORS)
    connection = connect(database, read_only=True)
    try:
        cursor = connection.execute(_LATEST_SCORES.format(columns=columns))
        headers = [description[0] for description in cursor.description]
        rows = cursor.fetchall()
    finally:
        connection.close()
    if not rows:
        return "No scores yet: fct_relationship_scores is empty."
    week = rows[0][2]
    shown = [index for index, header in enumerate(headers) if header != "week_start_date"]
    table = [[headers[index] for index in shown]] + [
        ["-" if row[index] is None else str(row[index]) for index in shown] for row in rows
    ]
    widths = [max(len(row[index]) for row in table) for index in range(len(shown))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in table]
    lines = [line.rstrip() for line in lines]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return (
        f"Relationship scores, ISO week starting {week} (0-100, '-' = not measurable, see score_notes):\n"
        + ("\n".join(lines))
    )


_INACTIVE_ACCOUNTS = """
    select
        account_id, platform, instance, account_state, moved_to_handle, state_observed_since,
        is_unreachable, last_observed_at
    from marts.dim_accounts
    where account_state != 'active' or is_unreachable
    order by account_id
"""


def describe_state(
    platform: str,
    instance: str | None,
    state: str | None,
    moved_to_handle: str | None,
    since: date | None,
    *,
    is_unreachable: bool = False,
    last_observed_at: date | None = None,
) -> str:
    """An account's state in words: ``suspended on mastodon.social since 2026-11-16``, ``moved to @x@y``,
    ``not reached by the latest run, last observed 2026-11-16`` (after its state if it is not active)."""
    where = instance or platform
    words = {
        "suspended": f"suspended on {where}",
        "deactivated": f"deactivated by its owner on {where}",
        "taken_down": f"taken down by {where}'s moderation",
        "moved": f"moved to {moved_to_handle or 'another account'}",
    }.get(state or "active", (state or "active").replace("_", " "))
    described = f"{words} since {since:%Y-%m-%d}" if since is not None else words
    if not is_unreachable:
        return described
    last_seen = f"last observed {last_observed_at:%Y-%m-%d}" if last_observed_at else "never observed"
    unreached = f"not reached by the latest run, {last_seen}"
    return unreached if state in (None, "active") else f"{described}; {unreached}"


def inactive_accounts(database: Path) -> list[str]:
    """Each account whose latest snapshot says it is not active, or that the latest run did not
    reach, in words, its key first.

    ``database`` is the warehouse or its published serving copy. Its scores are
    no collapse: the account is suspended, moved, deactivated or taken down, or
    was not observed by the latest run.
    """
    from rapport.load import connect

    connection = connect(database, read_only=True)
    try:
        rows = connection.execute(_INACTIVE_ACCOUNTS).fetchall()
    finally:
        connection.close()
    return [
        f"{account_id}: "
        + describe_state(
            platform, instance, state, moved_to, since, is_unreachable=unreachable, last_observed_at=last_seen
        )
        for account_id, platform, instance, state, moved_to, since, unreachable, last_seen in rows
    ]


def deferred_accounts(settings: Settings, registry: Registry, run_date: date) -> list[str]:
    """The accounts the platform deferred this run date (its quota or cap spent), with the reason,
    unless a later extraction of the same date (a retry, a rerun) read them."""
    deferred: dict[str, str] = {}
    complete: set[str] = set()
    for path in find_extractions(settings.landing_dir, run_date):
        try:
            extraction = read_extraction(path)
        except LandingError:
            continue  # named among the problems
        if extraction.is_complete:
            complete.add(extraction.account_id)
        elif extraction.is_deferred:
            deferred[extraction.account_id] = extraction.error or "deferred"
    known = {account.account_id for account in registry.accounts}
    return [
        f"{account_id}: {reason.split(': ', 1)[-1]}"
        for account_id, reason in sorted(deferred.items())
        if account_id in known and account_id not in complete
    ]


def run_problems(settings: Settings, registry: Registry, run_date: date) -> list[str]:
    """Every account that failed this run date, with the step and the cause."""
    problems = []
    landed: set[str] = set()
    unreadable: set[str] = set()
    slugs = {(account.platform, account.slug): account.account_id for account in registry.accounts}
    for path in find_extractions(settings.landing_dir, run_date):
        try:
            extraction = read_extraction(path)
        except LandingError as error:  # quarantined by validation: named once, here
            address = zones.landing_address(path)
            account_id = slugs.get((address.platform, address.slug), str(path)) if address else str(path)
            landed.add(account_id)
            unreadable.add(zones.extraction_id_of(path) or str(path))
            problems.append(f"{account_id}: landed extraction unreadable, quarantined: {error}")
            continue
        landed.add(extraction.account_id)
        if not extraction.is_complete and not extraction.is_deferred:
            problems.append(
                f"{extraction.account_id}: extraction failed: {extraction.error} "
                f"(what was received is kept in {extraction.path})"
            )
    for account in registry.accounts:
        if account.account_id not in landed:
            problems.append(f"{account.account_id}: extraction failed before any response was landed")
    report_path = zones.report_file(settings.data_dir, run_date, RESULT_FILE)
    if report_path.exists():
        report = json.loads(report_path.read_text(encoding="utf-8"))
        for outcome in report["outcomes"]:
            if outcome["status"] == "quarantined" and outcome["extraction_id"] not in unreadable:
                failures = "; ".join(
                    f"{failure['table']}{'.' + failure['column'] if failure['column'] else ''}: "
                    f"{failure['check']} ({failure['detail']})"
                    for failure in outcome["failures"]
                )
                problems.append(
                    f"{outcome['account_id']}: batch {outcome['extraction_id']} quarantined: {failures}"
                )
    return problems
