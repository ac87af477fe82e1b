"""The steps of a nightly run, one function per Airflow task (and per CLI command).

extract (one call per account) -> validate -> load -> build (dbt) -> publish -> email the report,
and summarize.
Each step reads what the previous one left on disk (the landing zone, the
staged batches, the warehouse), so any step can be re-run on its own and a
run date can be replayed. Settings and the registry are read when a step
runs, never at import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapport import zones
from rapport.accounts import Account, Registry, load_registry
from rapport.errors import RapportError
from rapport.landing import find_extractions, land_extraction, latest_until, readable_extractions
from rapport.settings import Settings, get_settings
from rapport.sources import DeferredError, Window, extract_with_cost, get_source
from rapport.thread_ledger import ThreadLedger, read_ledger, record_extraction

if TYPE_CHECKING:
    from rapport.publish.report import Alert

log = logging.getLogger(__name__)


class RunFailedError(RapportError, RuntimeError):
    """The run finished, but some accounts failed extraction or validation."""


@dataclass(frozen=True)
class RunPlan:
    """The window an extraction covers and why, and the thread ledger that plans its thread reads."""

    window: Window
    is_backfill: bool
    ledger: ThreadLedger = field(default_factory=ThreadLedger)


def run_date_of(until: datetime | None) -> date:
    """The run date a logical date stands for: its UTC calendar date (today's without one)."""
    return resolve_until(until).date()


def resolve_until(until: datetime | None) -> datetime:
    """The end of a run's extraction window: the logical date, or now for a run without one."""
    if until is None:
        return datetime.now(UTC)
    # A plain datetime: Airflow passes pendulum's, whose arithmetic differs.
    return datetime.fromtimestamp(until.timestamp(), tz=UTC)


def plan_extraction(settings: Settings, account: Account, until: datetime) -> RunPlan:
    """Choose the window of an account's extraction for a run ending at ``until``.

    The first run of an account backfills ``history_weeks``; later runs start
    at the account's watermark (the end of its newest complete extraction by an
    earlier run, not quarantined) less ``lookback_days``, so counts on recent
    posts are refreshed; the public's posts, read by those runs, are listed
    from the watermark (``Window.replies_since``). The plan carries the account's thread ledger as
    earlier runs left it (:func:`account_ledger`): a source that reads reply
    threads spends its budget on the changed ones, then on the backlog.
    """
    until = resolve_until(until)
    run_date = run_date_of(until)
    watermark = latest_until(
        settings.landing_dir, account, before=run_date, quarantine_dir=settings.quarantine_dir
    )
    ledger = account_ledger(settings, account, run_date)
    if watermark is None:
        window = Window(until - timedelta(weeks=settings.history_weeks), until)
        return RunPlan(window, is_backfill=True, ledger=ledger)
    since = min(watermark, until) - timedelta(days=settings.lookback_days)
    # The public's posts before the watermark were read by earlier runs: no need to list them again.
    return RunPlan(
        Window(since, until, replies_since=min(watermark, until)), is_backfill=False, ledger=ledger
    )


def account_ledger(settings: Settings, account: Account, run_date: date) -> ThreadLedger:
    """The account's thread ledger as runs before ``run_date`` left it, reads by quarantined
    extractions left out (their threads are read again). See :mod:`rapport.thread_ledger`."""
    return read_ledger(
        zones.thread_ledger_file(settings.landing_dir, account.platform, account.slug),
        before=run_date,
        is_quarantined=lambda day, extraction_id: zones.is_quarantined(
            settings.quarantine_dir, day, extraction_id
        ),
    )


def list_account_ids(platform: str | None = None) -> list[str]:
    """The registry's account keys, of one platform or all. Raises ``RegistryError`` on a bad registry."""
    accounts = load_registry(get_settings().accounts_file).accounts
    return [account.account_id for account in accounts if platform in (None, account.platform)]


def list_account_batches(platform: str, size: int | None = None) -> list[list[str]]:
    """The platform's account keys in batches of ``size`` (default ``settings.accounts_per_task``).

    One Airflow task extracts one batch: a task process costs seconds to
    start, so thousands of accounts must not mean thousands of tasks.
    """
    size = size or get_settings().accounts_per_task
    account_ids = list_account_ids(platform)
    return [account_ids[start : start + size] for start in range(0, len(account_ids), size)]


def extract_account(
    account_id: str, until: datetime | None, registry: Registry | None = None
) -> dict[str, Any]:
    """Extract one account up to ``until`` and land every page; return a small summary.

    A source that reads reply threads plans them through the account's thread
    ledger (:func:`account_ledger`), and a complete extraction records in it
    what was listed and read. ``registry`` saves reading the registry again (a batch reads it once).
    Raises the source's error (after landing what was fetched) when the
    account cannot be extracted: the task fails and is retried, other
    accounts go on.
    """
    from rapport.sources.exports.inbox import reads_exports

    settings = get_settings()
    account = (registry or load_registry(settings.accounts_file)).account(account_id)
    plan = plan_extraction(settings, account, resolve_until(until))
    if reads_exports(account):
        return import_account(settings, account, plan.window)
    source = get_source(account.platform)
    # A simulated platform is observed at the end of the window, which keeps replays identical.
    fetched_at = plan.window.until if source.PLATFORM.simulated else datetime.now(UTC)
    run_date = run_date_of(plan.window.until)
    pages, cost, threads = extract_with_cost(source, account, plan.window, plan.ledger)

    def thread_summary() -> dict[str, Any] | None:
        report = threads()
        return report.summary() if report is not None else None

    extraction = land_extraction(
        settings.landing_dir, account, run_date, plan.window, fetched_at, pages, cost, thread_summary
    )
    report = threads()
    if report is not None and extraction.is_complete:
        record_extraction(
            zones.thread_ledger_file(settings.landing_dir, account.platform, account.slug),
            report,
            run_date,
            extraction.extraction_id,
        )
    summary = {
        "account_id": account_id,
        "extraction_id": extraction.extraction_id,
        "since": plan.window.since.isoformat(),
        "until": plan.window.until.isoformat(),
        "backfill": plan.is_backfill,
        "pages": len(extraction.pages),
        "bytes": sum(page["bytes"] for page in extraction.pages),
        "requests": (extraction.cost or {}).get("requests", len(extraction.pages)),
        "threads": extraction.threads,
    }
    log.info("extracted %s", summary)
    return summary


def import_account(settings: Settings, account: Account, window: Window) -> dict[str, Any]:
    """Import the new files of an account's inbox for the run date of ``window.until``
    (:func:`rapport.sources.exports.importing.import_inbox`); return a small summary."""
    from rapport.sources.exports.importing import import_inbox

    summary = import_inbox(settings, account, window)
    log.info("imported %s", summary)
    return summary


class ExtractionFailedError(RapportError, RuntimeError):
    """Some accounts of a batch could not be extracted; the others were landed."""


def extract_accounts(
    account_ids: list[str], until: datetime | None, *, skip_landed: bool = False
) -> list[dict[str, Any]]:
    """Extract a batch of accounts one after the other; return the summary of each one extracted.

    An account the platform defers (its quota or usage cap for the night is
    spent: ``DeferredError``) is landed ``deferred`` and summarized with the
    reason; it does not fail the batch, and the next night resumes it.
    An account that fails does not stop the others: what it returned is
    landed (status ``failed``), and once the batch is done
    ``ExtractionFailedError`` names every account that failed, with its cause,
    so the task fails and is retried. ``skip_landed`` (a retry) leaves out the
    accounts already landed complete for this run date: they are not fetched twice.
    """
    settings = get_settings()
    registry = load_registry(settings.accounts_file)
    run_date = run_date_of(until)
    summaries: list[dict[str, Any]] = []
    failures: list[str] = []
    for account_id in account_ids:
        if skip_landed and any(
            extraction.is_complete
            for extraction in readable_extractions(
                find_extractions(settings.landing_dir, run_date, registry.account(account_id))
            )
        ):
            log.info("%s: already landed for %s, skipped", account_id, run_date)
            continue
        try:
            summaries.append(extract_account(account_id, until, registry))
        except DeferredError as deferred:  # the platform's cap for the night: not read tonight, not failed
            log.warning("%s: not read tonight: %s", account_id, deferred)
            summaries.append({"account_id": account_id, "deferred": str(deferred)})
        except Exception as error:
            log.exception("%s: extraction failed", account_id)
            failures.append(f"{account_id}: {type(error).__name__}: {error}")
    if failures:
        raise ExtractionFailedError(
            f"{len(failures)} of {len(account_ids)} accounts failed extraction:\n" + "\n".join(failures)
        )
    return summaries


def validate_run(until: datetime | None) -> dict[str, Any]:
    """Normalize and validate the run date's landed extractions; return counts by outcome."""
    from rapport.validation import validate_run as validate

    settings = get_settings()
    report = validate(settings, load_registry(settings.accounts_file), run_date_of(until))
    for outcome in report.quarantined:
        log.error(
            "quarantined %s (extraction %s): %s",
            outcome.account_id,
            outcome.extraction_id,
            "; ".join(str(failure) for failure in outcome.failures),
        )
    return {
        "staged": len(report.staged),
        "quarantined": [outcome.account_id for outcome in report.quarantined],
        "data_docs": report.data_docs,
    }


def load_run(until: datetime | None) -> dict[str, Any]:
    """Load the run date's staged batches into the warehouse in one transaction."""
    from rapport.load import load_batches
    from rapport.validation import staged_parts

    settings = get_settings()
    result = load_batches(
        settings.warehouse,
        load_registry(settings.accounts_file),
        staged_parts(settings.staging_dir, [run_date_of(until)]),
        memory_limit=settings.duckdb_memory_limit,
    )
    log.info("loaded %d batches into %s: %s", result.batches, result.warehouse, result.rows)
    return {"batches": result.batches, "rows": result.rows}


def build_models() -> None:
    """Run ``dbt build`` on the warehouse (models and data tests; unit tests run in ``make test``)."""
    from rapport.transform import build_models as build

    log.info(build(get_settings()))


def relationship_alerts(settings: Settings) -> list[Alert]:
    """The relationship-health alerts of the latest week, as ``marts.fct_relationship_alerts``
    holds them (their thresholds are the dbt vars ``alert_*``)."""
    from rapport.publish.report import read_alerts

    return read_alerts(settings.warehouse)


def publish_marts(until: datetime | None = None) -> dict[str, Any]:
    """Publish for readers, once dbt's tests passed: the serving DuckDB file and Parquet (each
    replaced atomically), dbt's docs, and the weekly HTML report with its relationship-health alerts.

    Returns the paths written and the row count per published table.
    """
    import os

    from rapport.publish.report import write_report
    from rapport.publish.serving import publish
    from rapport.transform import generate_docs

    settings = get_settings()
    publication = publish(settings.warehouse, settings.published_dir)
    report_dir = zones.published_report_dir(settings.published_dir)
    docs = generate_docs(settings, zones.published_dbt_docs_dir(settings.published_dir))
    data_docs = zones.data_docs_index(settings.gx_docs_dir, run_date_of(until))
    links = {"dbt docs: models, lineage, tests": os.path.relpath(docs, report_dir)}
    if data_docs.exists():
        links["Great Expectations Data Docs: this run's validation"] = os.path.relpath(data_docs, report_dir)
    report = write_report(settings.warehouse, report_dir, links=links)
    log.info(
        "published %s, %s and %s: %s",
        publication.serving_file,
        publication.parquet_dir,
        report,
        publication.tables,
    )
    return {
        "serving_file": str(publication.serving_file),
        "report": str(report),
        "tables": publication.tables,
    }


def deliver_report(report: str | Path | None = None) -> dict[str, Any]:
    """Email the weekly report, once published, to the addresses of ``RAPPORT_REPORT_EMAIL_TO``
    through the Airflow connection ``RAPPORT_REPORT_EMAIL_CONNECTION`` (:mod:`rapport.publish.delivery`).

    ``report`` is the weekly file ``publish_marts`` wrote (default: the latest
    week's in the published report folder). Sends nothing when the setting
    names nobody (the default). Returns the file, its week and the number of
    recipients; raises ``DeliveryError``, in one line naming the connection and
    the server, when it cannot be sent.
    """
    from rapport.publish.delivery import email_report, latest_report

    settings = get_settings()
    if not settings.report_recipients:
        log.info("the weekly report is not emailed: RAPPORT_REPORT_EMAIL_TO names no recipient")
        return {"emailed_to": 0}
    path = Path(report) if report else latest_report(zones.published_report_dir(settings.published_dir))
    delivery = email_report(settings, path)
    return {"report": str(delivery.report), "week": delivery.week_label, "emailed_to": delivery.recipients}


class RebuildRefusedError(RapportError, RuntimeError):
    """A rebuild would drop history it cannot derive again (quarantined extractions) without ``force``;
    the message names each extraction."""


def rebuild(force: bool = False) -> dict[str, Any]:
    """Rebuild the warehouse from the landing zone alone: every run date re-validated, re-loaded, built.

    The new warehouse is built aside, next to the old one, holding the
    warehouse's writer lock all along (a load or a dbt build is refused
    meanwhile, and a rebuild is refused while one of them runs); it replaces
    the old one in one rename once it is complete, so a rebuild that fails
    or is killed leaves the old one as it was. Validation stages aside too,
    out of a load's way.

    Raises ``RebuildRefusedError`` naming every quarantined extraction (account,
    run date, path, reason) unless ``force``: their history would be dropped.
    Raises ``WarehouseBusyError`` when another writer holds the warehouse.
    Returns the counts and the quarantined extractions.
    """
    import uuid

    from rapport.load import connect, load_batches, replace_warehouse, writer_lock
    from rapport.transform import build_models as build
    from rapport.validation import staged_parts
    from rapport.validation import validate_run as validate

    settings = get_settings()
    registry = load_registry(settings.accounts_file)
    warehouse = settings.warehouse
    with writer_lock(warehouse):
        if warehouse.exists():
            connect(warehouse).close()  # refused now, not at the end, if a process outside Rapport holds it
        _remove_asides(settings)  # of a rebuild that was killed: no other rebuild runs while the lock is held
        token = uuid.uuid4().hex[:12]
        new_warehouse = zones.aside(warehouse, token)
        staging_dir = zones.aside(settings.staging_dir, token)
        try:
            run_dates = zones.landed_run_dates(settings.landing_dir)
            quarantined = []
            for run_date in run_dates:
                report = validate(settings, registry, run_date, staging_dir=staging_dir)
                quarantined += [
                    {
                        "account_id": outcome.account_id,
                        "run_date": run_date.isoformat(),
                        "extraction": outcome.landing_path,
                        "reason": "; ".join(str(failure) for failure in outcome.failures),
                    }
                    for outcome in report.quarantined
                ]
            if quarantined and not force:
                raise RebuildRefusedError(
                    f"{warehouse}: not rebuilt, kept as it is: {len(quarantined)} landed extraction(s) are "
                    "quarantined and their history would be dropped (fix or remove them, or rebuild "
                    "with --force to drop it):\n"
                    + "\n".join(
                        f"- {item['account_id']}, run date {item['run_date']}, {item['extraction']}: "
                        f"{item['reason']}"
                        for item in quarantined
                    )
                )
            result = load_batches(
                new_warehouse,
                registry,
                staged_parts(staging_dir, run_dates),
                memory_limit=settings.duckdb_memory_limit,
            )
            log.info(build(settings, warehouse=new_warehouse))
            with writer_lock(new_warehouse):
                replace_warehouse(new_warehouse, warehouse)
        finally:
            _remove_asides(settings)
    return {
        "run_dates": len(run_dates),
        "batches": result.batches,
        "rows": result.rows,
        "quarantined": quarantined,
    }


def _remove_asides(settings: Settings) -> None:
    """Remove what rebuilds wrote aside: their warehouse (with its log, lock and dbt files) and staging."""
    import shutil

    for path in zones.asides(settings.warehouse) + zones.asides(settings.staging_dir):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def summarize_run(until: datetime | None) -> str:
    """Report the run: latest scores per organization and every account that failed.

    Returns the report text, also kept for the run date (``rapport summary`` prints
    it: :func:`rapport.summary.write_run_summary`). Raises ``RunFailedError`` with
    the same text when an account failed extraction or validation, so the run
    shows as failed once everything else is done.
    """
    from rapport.summary import (
        deferred_accounts,
        inactive_accounts,
        latest_scores_table,
        run_problems,
        write_run_summary,
    )

    settings = get_settings()
    registry = load_registry(settings.accounts_file)
    problems = run_problems(settings, registry, run_date_of(until))
    deferred = deferred_accounts(settings, registry, run_date_of(until))
    text = latest_scores_table(settings.warehouse)
    inactive = inactive_accounts(settings.warehouse)
    if inactive:  # a state, not a collapse: named apart from the scores
        text += "\n\nAccounts not active:\n" + "\n".join(f"- {line}" for line in inactive)
    alerts = relationship_alerts(settings)
    if alerts:
        text += "\n\nRelationship-health alerts:\n" + "\n".join(
            f"- {alert.account_id or alert.organization_id}: {alert.message}" for alert in alerts
        )
    report = zones.published_report_dir(settings.published_dir) / "latest.html"
    if report.exists():
        text += f"\n\nWeekly report: {report}"
    if deferred:  # the platform's cap: a coverage fact of the night, not a failure of the run
        text += "\n\nNot read tonight (the platform's quota or cap; the next night resumes):\n" + "\n".join(
            f"- {line}" for line in deferred
        )
    if problems:
        text += "\n\nProblems in this run:\n" + "\n".join(f"- {problem}" for problem in problems)
    log.info("\n%s", text)
    write_run_summary(settings.data_dir, run_date_of(until), text)
    if problems:
        raise RunFailedError(text)
    return text


WAREHOUSE_POOL = "rapport_warehouse"
"""The Airflow pool of every task that writes the warehouse: one slot, DuckDB takes one writer."""


def airflow_pools() -> dict[str, dict[str, Any]]:
    """The Airflow pools of the DAG, as ``airflow pools import`` reads them: the warehouse's (one
    slot) and one per platform folder, with its declared concurrency (``rapport pools``)."""
    from rapport.sources import platforms

    pools: dict[str, dict[str, Any]] = {
        WAREHOUSE_POOL: {
            "description": "One writer of the DuckDB warehouse at a time (load, build, summarize)",
            "include_deferred": False,
            "slots": 1,
        }
    }
    for contract in platforms():
        pools[contract.pool] = {
            "description": contract.pool_description,
            "include_deferred": False,
            "slots": contract.concurrency,
        }
    return pools


def on_task_failure(context: Any) -> None:
    """Airflow failure callback: name the step, the accounts and the cause in one log line."""
    task_instance = context.get("task_instance") or context.get("ti")
    account = None
    if task_instance is not None and getattr(task_instance, "map_index", -1) >= 0:
        account = getattr(task_instance, "rendered_map_index", None)
    log.error(
        "Rapport run %s: step %s failed%s: %s",
        context.get("run_id"),
        getattr(task_instance, "task_id", "?"),
        f" for {account}" if account else "",
        context.get("exception"),
    )
