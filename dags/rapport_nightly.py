"""
### rapport_nightly

Scores every account of the registry (`config/accounts.yml`) on the five
relationship indicators, each night.

1. **`list_<platform>_accounts`** reads the registry.
2. **`extract_<platform>`** runs once per batch of `RAPPORT_ACCOUNTS_PER_TASK`
   accounts (default 25) of that platform (dynamic task mapping, in the pool
   `rapport_<platform>` that caps its concurrency: `rapport pools` writes them): for each account it calls
   the platform from the account's watermark (or backfills its history on the
   first run) and lands every response in the landing zone. An account that
   fails does not stop the others of its batch; the batch then fails naming
   it, and its retry (exponential backoff) fetches only the accounts not yet landed.
3. **validate** normalizes what landed for the run date and checks it with the
   Great Expectations suites; failing batches are quarantined.
4. **load** upserts the valid batches into the DuckDB warehouse, in one
   transaction (pool `rapport_warehouse`: one writer at a time).
5. **build** runs `dbt build`: models and data tests (unit tests run in `make test`), ending in
   `marts.fct_relationship_scores`.
6. **publish** copies the marts, once dbt's tests passed, to
   `data/published/rapport.duckdb` (a file DuckDB 1.4+ and BI drivers open,
   replaced atomically) and to Parquet (`data/published/parquet/current/`),
   generates dbt's docs and writes the weekly HTML report with its
   relationship-health alerts (`data/published/report/latest.html`).
7. **email_report** emails that report (inline, and attached) to the addresses of
   `RAPPORT_REPORT_EMAIL_TO` through the Airflow SMTP connection
   `RAPPORT_REPORT_EMAIL_CONNECTION` (default `smtp_default`); with no address
   (the default) it sends nothing. It fails, naming the connection and the
   server, when the mail cannot be sent; the report is written all the same.
8. **summarize** logs the latest scores and the alerts (and writes them to
   `data/reports/run_date=<date>/run_summary.txt`, which `rapport summary` prints),
   and fails the run, once everything else is done, if an account failed
   extraction or validation.

Settings (environment variables): `RAPPORT_SCHEDULE` (cron, default `0 2 * * *`),
`RAPPORT_TIMEZONE` (default `UTC`), `RAPPORT_CATCHUP` (default `false`),
`RAPPORT_RETRIES` (default `3`), `RAPPORT_TASK_TIMEOUT_MINUTES` (every task's
`execution_timeout`, default 240), and the paths of `rapport.settings`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, TriggerRule, dag, get_current_context, task

from rapport.pipeline import WAREHOUSE_POOL, on_task_failure
from rapport.settings import get_settings
from rapport.sources import platforms

# Read at parse time: the settings only read environment variables, and a bad one is one line.
SETTINGS = get_settings()

DESCRIPTION = (
    "Nightly relationship scores: extract every registered account, validate, load, dbt build, "
    "publish the marts and the weekly report, email it"
)
"""The one line the DAG list shows under the DAG's name."""


@dag(
    dag_id="rapport_nightly",
    schedule=CronTriggerTimetable(SETTINGS.schedule, timezone=SETTINGS.timezone),
    start_date=pendulum.datetime(2026, 1, 1, tz=SETTINGS.timezone),
    catchup=SETTINGS.catchup,
    max_active_runs=1,
    description=DESCRIPTION,
    doc_md=__doc__,
    tags=["rapport", "relationship-scores"],
    default_args={
        "owner": "rapport",
        "retries": SETTINGS.retries,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": on_task_failure,
        "execution_timeout": timedelta(minutes=SETTINGS.task_timeout_minutes),
    },
)
def rapport_nightly() -> None:
    extracted = []
    # One extract task per platform folder of rapport.sources (their contracts are light to import).
    for contract in platforms():
        platform = contract.name

        @task(task_id=f"list_{platform}_accounts")
        def list_accounts(platform: str) -> list[list[str]]:
            from rapport.pipeline import list_account_batches

            return list_account_batches(platform)

        # One mapped task per platform, so each platform has its own concurrency cap (its pool),
        # and one task instance per batch of accounts, so thousands of accounts are not thousands of tasks.
        @task(task_id=f"extract_{platform}", pool=contract.pool, map_index_template="{{ accounts }}")
        def extract(account_ids: list[str], logical_date: datetime | None = None) -> list[dict[str, object]]:
            from rapport.pipeline import extract_accounts

            context = get_current_context()
            context["accounts"] = describe_batch(account_ids)  # type: ignore[typeddict-unknown-key]
            retrying = context["ti"].try_number > 1
            return extract_accounts(account_ids, until=logical_date, skip_landed=retrying)

        extracted.append(extract.expand(account_ids=list_accounts(platform)))

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def validate(logical_date: datetime | None = None) -> dict[str, object]:
        from rapport.pipeline import validate_run

        return validate_run(until=logical_date)

    @task(pool=WAREHOUSE_POOL)
    def load(logical_date: datetime | None = None) -> dict[str, object]:
        from rapport.pipeline import load_run

        return load_run(until=logical_date)

    @task(pool=WAREHOUSE_POOL)
    def build() -> None:
        from rapport.pipeline import build_models

        build_models()

    @task(pool=WAREHOUSE_POOL)
    def publish(logical_date: datetime | None = None) -> dict[str, object]:
        from rapport.pipeline import publish_marts

        return publish_marts(until=logical_date)

    # Reads the report file only: no warehouse slot. A leaf, so a mail not sent fails the run.
    @task
    def email_report(publication: dict[str, object]) -> dict[str, object]:
        from rapport.pipeline import deliver_report

        return deliver_report(str(publication["report"]))

    @task(pool=WAREHOUSE_POOL, trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def summarize(logical_date: datetime | None = None) -> str:
        from rapport.pipeline import summarize_run

        return summarize_run(until=logical_date)

    published = publish()
    extracted >> validate() >> load() >> build() >> published >> summarize()
    email_report(published)


def describe_batch(account_ids: list[str]) -> str:
    """How a batch of accounts is named in the UI and in failure messages."""
    if len(account_ids) == 1:
        return account_ids[0]
    return f"{account_ids[0]} .. {account_ids[-1]} ({len(account_ids)} accounts)"


rapport_nightly()
