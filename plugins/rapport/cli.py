"""The ``rapport`` command: check the registry, extract one account, rebuild, show scores, query.

Every command works without Airflow, on the same paths as the DAG
(``rapport.settings``). Errors are printed as one clear message, never a
traceback: exit code 2 for a mistake of the user's (a setting, the registry,
an argument), 1 for a step that failed (a platform, the landing zone, dbt).
Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from typer.core import TyperGroup

from rapport.errors import ConfigurationError, RapportError
from rapport.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

    from rapport.landing import ImportedFile
    from rapport.sources.contract import ExportFormat, Platform
    from rapport.sources.exports.importing import Examination
    from rapport.sources.exports.inbox import InboxFile

USER_MISTAKE: Final = 2
"""Exit code of a mistake the user can fix (click's own for a bad argument)."""
FAILED: Final = 1
"""Exit code of a step that failed."""


class _Commands(TyperGroup):
    """The command group: a ``RapportError`` from any command becomes one message and an exit code."""

    def invoke(self, ctx: Any) -> Any:  # typer's own click.Context (typer vendors click)
        try:
            return super().invoke(ctx)
        except RapportError as error:
            _echo(f"error: {error}", err=True)
            raise typer.Exit(USER_MISTAKE if isinstance(error, ConfigurationError) else FAILED) from None


app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False, cls=_Commands)
accounts_app = typer.Typer(help="The account registry.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")


# C0 and C1 control characters but tab and newline: data from the platforms (display names, posts)
# must not move the cursor, clear the screen or plant a hyperlink in the reader's terminal.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """``text`` with its control characters written as escapes (``\\x1b``), so it prints as it is."""
    return _CONTROL_CHARACTERS.sub(lambda match: match.group().encode("unicode_escape").decode(), text)


def _echo(text: str, err: bool = False) -> None:
    """Print text meant for a person, control characters escaped (``typer.echo`` interprets no markup)."""
    typer.echo(_printable(text), err=err)


def _fail(message: str) -> typer.Exit:
    _echo(f"error: {message}", err=True)
    return typer.Exit(code=FAILED)


@accounts_app.command("check")
def check_accounts(
    file: Annotated[Path | None, typer.Option(help="Registry file (default: RAPPORT_ACCOUNTS).")] = None,
) -> None:
    """Validate the account registry and list its accounts."""
    from rapport.accounts import load_registry

    path = file or get_settings().accounts_file
    registry = load_registry(path)
    for organization in registry.organizations:
        accounts = ", ".join(account.account_id for account in organization.accounts)
        _echo(
            f"{organization.organization_id} ({organization.size_band}, {organization.peer_group}): "
            f"{accounts}"
        )
    typer.echo(
        f"{path}: {len(registry.organizations)} organizations, {len(registry.accounts)} accounts, valid"
    )


@app.command()
def extract(
    account_id: Annotated[str, typer.Argument(help="Account key, e.g. 'demo:@petit_theatre'.")],
    until: Annotated[
        datetime | None, typer.Option(help="End of the window (UTC); default now.", formats=["%Y-%m-%d"])
    ] = None,
) -> None:
    """Extract one account into the landing zone, as the nightly run would."""
    from rapport.accounts import load_registry
    from rapport.pipeline import extract_account

    registry = load_registry(get_settings().accounts_file)
    try:
        registry.account(account_id)
    except KeyError as error:
        raise typer.BadParameter(str(error).strip("'\""), param_hint="ACCOUNT_ID") from None
    summary = extract_account(account_id, until.replace(tzinfo=UTC) if until else None, registry)
    typer.echo(json.dumps(summary, indent=2))


def _declared_platforms() -> tuple[Platform, ...]:
    """The platforms, for a help text: none when a platform folder is at fault, so that the command
    (which reads them again) names the folder in one line instead of the help raising a traceback."""
    from rapport.sources import platforms

    try:
        return platforms()
    except RapportError:
        return ()


def _platforms_help() -> str:
    return ", ".join(contract.name for contract in _declared_platforms()) + "."


def _addresses_help() -> str:
    return "The account as on its platform: " + ", ".join(
        f"{contract.address_example} ({contract.name})" for contract in _declared_platforms()
    )


@app.command()
def pools(
    output: Annotated[
        Path | None, typer.Option(help="Write the JSON to this file instead of printing it.")
    ] = None,
) -> None:
    """The Airflow pools of the DAG, for `airflow pools import`: the warehouse's, one per platform."""
    from rapport.pipeline import airflow_pools

    text = json.dumps(airflow_pools(), indent=4) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise _fail(f"{output}: cannot write the pools ({error.strerror})") from None


@app.command("platforms")
def list_platforms(
    as_json: Annotated[bool, typer.Option("--json", help="Print the contracts as JSON.")] = False,
) -> None:
    """The platforms Rapport reads: handles, credentials, pool, cost per account a night, what each sees."""
    from rapport.sources import platforms as declared

    contracts = declared()
    if as_json:
        typer.echo(json.dumps([_contract_dict(contract) for contract in contracts], indent=2))
        return
    for contract in contracts:
        simulated = " (simulated)" if contract.simulated else ""
        typer.echo(f"{contract.name}: {contract.title}{simulated}")
        instance = ", on its server under 'instance'" if contract.needs_instance else ""
        typer.echo(f"  accounts: {contract.address_example}{instance}")
        typer.echo(f"  pool: {contract.pool}, {contract.concurrency} at a time")
        for credential in contract.credentials:
            needed = "required" if credential.required else "optional"
            where = ", ".join(
                (*credential.variables, *(f"Connection {c}" for c in credential.connection_ids))
            )
            typer.echo(f"  credential ({needed}): {credential.what}; from {where}")
        cost = contract.cost
        typer.echo(
            f"  cost a night, {cost.unit} ({cost.example}): first run {cost.first_run}, "
            f"nightly {cost.nightly}, nothing new {cost.nothing_new}"
        )
        for measure in contract.availability:
            typer.echo(f"  sees {measure.name}: {measure.seen}, {measure.how}")


def _contract_dict(contract: Any) -> dict[str, Any]:
    from dataclasses import asdict

    described = asdict(contract)
    described["handle"] = contract.handle.pattern
    described["pool"] = contract.pool
    described["unavailable"] = dict(contract.unavailable)
    return described


@app.command()
def fetch(
    platform: Annotated[str, typer.Argument(help=_platforms_help())],
    address: Annotated[str, typer.Argument(help=_addresses_help())],
    since: Annotated[
        datetime | None, typer.Option(help="Start (UTC); default: the history window.", formats=["%Y-%m-%d"])
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(help="End (UTC, exclusive); default now.", formats=["%Y-%m-%d"])
    ] = None,
) -> None:
    """Try one account without Airflow: fetch it, normalize it, print what came and what it cost.

    Nothing is written: the landing zone and the warehouse are left alone.
    """
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from rapport.accounts import parse_account
    from rapport.sources import Window, extract_with_cost, get_source
    from rapport.sources.payloads import records_frames

    account = parse_account(platform, address)  # refuses an unknown platform
    source = get_source(platform)
    end = (until.replace(tzinfo=UTC) if until else datetime.now(UTC)).astimezone(UTC)
    start = since.replace(tzinfo=UTC) if since else end - timedelta(weeks=get_settings().history_weeks)
    window = Window(start, end)
    fetched_at = datetime.now(UTC)  # bounds what is left for later dates; the rows are observed at `end`
    pages_iterator, cost, _ = extract_with_cost(source, account, window)
    pages = []
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        transient=True,
        console=Console(stderr=True),
    ) as progress:
        task = progress.add_task(f"fetching {account.account_id}", total=None)
        for page in pages_iterator:
            pages.append(page)
            progress.update(task, description=f"fetching {account.account_id}: {len(pages)} pages")
    frames = records_frames(
        source.normalize(pages, account, end.replace(tzinfo=None), fetched_at.replace(tzinfo=None))
    )
    posts, interactions = frames["posts"], frames["interactions"]
    typer.echo(f"{account.account_id}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC")
    for snapshot in frames["account_snapshots"].itertuples():
        if snapshot.account_state != "active":  # a state, not a live account with 0 followers
            moved = f" to {snapshot.moved_to_handle}" if snapshot.account_state == "moved" else ""
            typer.echo(f"  account: {str(snapshot.account_state).replace('_', ' ')}{moved}")
            if snapshot.account_state != "moved":
                continue
        counts = (
            (snapshot.followers_count, "followers"),
            (snapshot.following_count, "following"),
            (snapshot.posts_count, "posts in all"),
        )
        # A count the platform does not show (a YouTube channel's subscriptions) is not a 0.
        typer.echo("  account: " + ", ".join(_count(count, what) for count, what in counts))
    by_type = posts["post_type"].value_counts().to_dict() if len(posts) else {}
    typer.echo(f"  posts: {len(posts)} " + json.dumps(by_type))
    kinds = interactions["interaction_type"].value_counts().to_dict() if len(interactions) else {}
    questions = int(interactions["is_question"].sum()) if len(interactions) else 0
    typer.echo(f"  from the public: {len(interactions)} " + json.dumps(kinds) + f", {questions} questions")
    typer.echo(f"  cost: {describe_cost(cost(), len(pages))}")


_PROGRESS_FROM_BYTES: Final = 4 * 1024 * 1024
"""Files larger than this are read with a progress bar."""


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="An analytics export file, as the platform gave it.")],
    account_id: Annotated[
        str,
        typer.Option(
            "--account",
            help="The account it is of, as '<platform>:<handle>' (rapport accounts check lists them).",
        ),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what it holds; write nothing.")] = False,
    run_date: Annotated[
        datetime | None,
        typer.Option(
            "--date",
            help="The run date to import it for (places dates without a year); default today.",
            formats=["%Y-%m-%d"],
        ),
    ] = None,
) -> None:
    """Read an export file now: what it is, the days it covers, its posts and followers, the gaps,
    and what it would load; then land it for the run date (the run of that date validates and loads
    it), or, with --dry-run, write nothing."""
    from rapport.accounts import load_registry
    from rapport.landing import imported_files
    from rapport.sources import Window
    from rapport.sources.exports.importing import examine, land

    settings = get_settings()
    registry = load_registry(settings.accounts_file)
    try:
        account = registry.account(account_id)
    except KeyError as error:
        raise typer.BadParameter(str(error).strip("'\""), param_hint="--account") from None
    if not get_platform_exports(account.platform):
        raise typer.BadParameter(
            f"{account.account_id}: Rapport imports no analytics export of {account.platform}",
            param_hint="--account",
        )
    # The run date to land the file for: --date, else today's, as `rapport extract` defaults to now;
    # the nightly run imports for its logical date.
    until = (run_date.replace(tzinfo=UTC) if run_date else datetime.now(UTC)).astimezone(UTC)
    until = until.replace(hour=0, minute=0, second=0, microsecond=0)
    inbox_file = _read_export(file)
    landed = imported_files(settings.landing_dir, account)
    found = examine(settings, account, inbox_file, Window(until - timedelta(days=1), until), landed)
    _echo(f"{file.name}: {found.export.title if found.export else 'not read'}, for {account.account_id}")
    if found.already is not None:
        _echo(
            f"  already imported for {found.already.run_date} (as {found.already.file}, extraction "
            f"{found.already.extraction.extraction_id}): nothing to do"
        )
        return
    if found.rows is not None:
        for line in describe_export(found, landed.values()):
            _echo(f"  {line}")
    if found.later:
        raise _fail(
            f"{file}: its days start after {found.run_date}: import it with --date on or after its last day"
        )
    if found.problem is not None:
        raise _fail(f"{found.problem}" if str(file.name) in found.problem else f"{file}: {found.problem}")
    if dry_run:
        _echo("  dry run: nothing written")
        return
    extraction = land(settings, account, found)
    _echo(
        f"  landed for {found.run_date} as {extraction.path}: the run of {found.run_date} "
        "validates and loads it"
    )


def get_platform_exports(platform: str) -> tuple[ExportFormat, ...]:
    """The export formats a platform imports (none for most)."""
    from rapport.sources import get_platform

    return get_platform(platform).exports


def _read_export(file: Path) -> InboxFile:
    """The file, read (with a progress bar when large) and hashed, as an inbox would hold it."""
    import hashlib

    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from rapport.sources.exports.inbox import InboxFile
    from rapport.sources.exports.parsing import MAX_FILE_BYTES

    try:
        size = file.stat().st_size
        if not file.is_file():
            raise typer.BadParameter(f"{file}: not a file", param_hint="FILE")
        if size > MAX_FILE_BYTES:
            raise _fail(f"{file}: {size} bytes, more than the {MAX_FILE_BYTES} an export can be")
        chunks = []
        with (
            file.open("rb") as stream,
            Progress(
                TextColumn("reading {task.description}"),
                BarColumn(),
                DownloadColumn(),
                transient=True,
                console=Console(stderr=True),
                disable=size < _PROGRESS_FROM_BYTES,
            ) as progress,
        ):
            task = progress.add_task(file.name, total=size)
            while chunk := stream.read(1 << 20):
                chunks.append(chunk)
                progress.advance(task, len(chunk))
    except OSError as error:
        raise typer.BadParameter(f"{file}: cannot read it ({error.strerror})", param_hint="FILE") from None
    data = b"".join(chunks)
    return InboxFile(file.name, data, hashlib.sha256(data).hexdigest())


def describe_export(found: Examination, landed: Iterable[ImportedFile]) -> list[str]:
    """What an examined export holds and would load, a line each: whose it is, the days it covers,
    its posts and followers, the gaps (days without followers, periods no file covers), the
    components it does not feed."""
    from rapport.sources.contract import COMPONENTS

    rows, export = found.rows, found.export
    assert rows is not None and export is not None  # described once read
    days = (rows.last_day - rows.first_day).days + 1
    first_week, last_week = rows.first_day.isocalendar(), rows.last_day.isocalendar()
    lines = []
    if rows.identities:
        lines.append(
            "whose: " + ", ".join(f"{kind} {value!r}" for kind, value in sorted(rows.identities.items()))
        )
    lines.append(
        f"covers: {rows.first_day} to {rows.last_day} ({days} days, ISO weeks "
        f"{first_week.year}-W{first_week.week:02d} to {last_week.year}-W{last_week.week:02d})"
    )
    if rows.posts:
        dates = sorted(post.created_at for post in rows.posts)
        totals = [
            f"{sum(getattr(post, count) or 0 for post in rows.posts):,} {count}"
            for count in ("likes", "comments", "shares")
            if any(getattr(post, count) is not None for post in rows.posts)
        ]
        lines.append(
            f"posts: {len(rows.posts)}, {dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}"
            + (f" ({', '.join(totals)})" if totals else "")
        )
    else:
        lines.append("posts: none listed")
    if rows.followers:
        given = dict(rows.followers)
        ordered = sorted(given)
        lines.append(f"followers: {len(given)} days, {given[ordered[0]]:,} to {given[ordered[-1]]:,}")
        missing = days - len(given)
        if missing:
            lines.append(f"gaps: followers missing for {missing} of its {days} days")
    else:
        lines.append("followers: not in this file")
    for gap in _period_gaps(found, landed):
        lines.append(f"gaps: {gap}")
    lines += [f"note: {note}" for note in rows.notes]
    if found.refused is None:
        lines.append(
            f"would load: {len(rows.posts)} posts, {len(rows.followers)} follower counts and the file's "
            f"record, for run date {found.run_date}"
        )
    unfed = [component.replace("_", " ") for component in COMPONENTS if not export.fed(component)]
    if unfed:
        lines.append("not in this export (NULL in its weeks' scores, with a note): " + ", ".join(unfed))
    return lines


def _period_gaps(found: Examination, landed: Iterable[ImportedFile]) -> list[str]:
    """The periods between the account's files of this format (and this one) that no file covers."""
    name = found.export.name if found.export is not None else None
    periods = sorted(
        [
            (other.extraction.window.since.date(), other.extraction.window.until.date())
            for other in landed
            if other.params.get("format") == name and "refused" not in other.params
        ]
        + [(found.window.since.date(), found.window.until.date())]
    )
    gaps = []
    covered_until = periods[0][1]
    for since, until in periods[1:]:
        if since > covered_until:
            gaps.append(
                f"no file of this format covers {covered_until} to {since - timedelta(days=1)}: "
                "those weeks are not scored"
            )
        covered_until = max(covered_until, until)
    return gaps


def _count(count: object, what: str) -> str:
    import pandas as pd

    return f"{what.split()[0]} not shown" if pd.isna(count) else f"{count} {what}"


def describe_cost(counters: dict[str, Any] | None, pages: int) -> str:
    """What an extraction cost, in words: its API calls and, on a platform with a quota, its units."""
    if counters is None:  # a simulated platform sends no request
        return f"{pages} responses"
    units = f", {counters['units']} quota units" if counters.get("units") is not None else ""
    return (
        f"{counters['requests']} API calls{units} ({counters['retries']} retries, "
        f"{counters['rate_limited']} rate-limited, {counters['slept_seconds']:.1f} s waiting), "
        f"{pages} responses"
    )


@app.command()
def rebuild(
    force: Annotated[
        bool,
        typer.Option("--force", help="Rebuild even if extractions are quarantined, dropping their history."),
    ] = False,
) -> None:
    """Rebuild the warehouse from the landing zone alone (re-validate, re-load, dbt build), aside, then
    replace it; refused while another process writes it, or while extractions are quarantined."""
    import duckdb

    from rapport.pipeline import rebuild as rebuild_warehouse

    try:
        result = rebuild_warehouse(force=force)
    except (duckdb.Error, OSError) as error:
        raise _fail(
            f"{get_settings().warehouse}: rebuild failed, the warehouse is kept as it was: {error}"
        ) from None
    typer.echo(json.dumps(result, indent=2))


def _readable_database(use_warehouse: bool) -> Path:
    """The published serving copy (readable while a run writes), or the warehouse itself when asked."""
    from rapport.publish.serving import SERVING_FILE

    settings = get_settings()
    database = settings.warehouse if use_warehouse else settings.published_dir / SERVING_FILE
    if not database.exists():
        raise _fail(f"{database}: nothing published yet; run `make demo` or the rapport_nightly DAG first")
    return database


WAREHOUSE_OPTION = typer.Option(
    "--warehouse", help="Read the warehouse itself, not the published copy (fails while a run writes)."
)


@app.command()
def scores(use_warehouse: Annotated[bool, WAREHOUSE_OPTION] = False) -> None:
    """Print the latest complete week's scores per account (from the published copy)."""
    import duckdb

    from rapport.summary import latest_scores_table

    database = _readable_database(use_warehouse)
    try:
        _echo(latest_scores_table(database))
    except duckdb.Error as error:  # a missing mart, a locked file: say it plainly
        raise _fail(f"{database}: {error}") from None


QUERY_HINT: Final = (
    "hint: the published copy holds the marts (marts.fct_relationship_scores, "
    "marts.fct_account_weekly_metrics, marts.dim_accounts, marts.dim_organizations); list them with: "
    'rapport query "select table_schema, table_name from information_schema.tables"'
)


@app.command()
def query(
    sql: Annotated[
        str,
        typer.Argument(
            help="A SQL query, e.g. 'select * from marts.fct_relationship_scores'; several, separated "
            "by ';', run in order."
        ),
    ],
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    use_warehouse: Annotated[bool, WAREHOUSE_OPTION] = False,
    raw_csv: Annotated[
        bool,
        typer.Option(
            "--raw-csv",
            help="With --format csv, write text cells exactly as stored, formula-leading ones included.",
        ),
    ] = False,
) -> None:
    """Run a read-only SQL query on the published marts and print the result.

    Several statements separated by ';' run in order. --format table prints
    each one's result under its statement. --format csv and json take one
    statement that returns rows, and refuse more (exit 2): a file of several
    CSV tables or several JSON documents is neither CSV nor JSON to the tool
    that reads it, so run them one at a time. A query that is empty (spaces,
    comments, ';') is a usage error (exit 2).

    With --format json, dates are written as 2026-11-16 and timestamps as ISO
    8601 strings (2026-11-16T08:30:00), as CSV writes them, not as epoch numbers.

    With --format csv, a text cell that starts with =, +, -, @, a tab or a
    carriage return is written with a leading single quote (') so that a
    spreadsheet shows it as text instead of running it as a formula (OWASP's
    advice against CSV injection): display names and posts come from the
    public. Numbers, dates and empty cells are written as they are. --raw-csv
    turns this off.
    """
    import duckdb

    from rapport.load import connect

    if output not in ("table", "csv", "json"):
        raise typer.BadParameter(f"must be table, csv or json, not {output!r}", param_hint="--format")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise _fail(f"{error}\n{QUERY_HINT}") from None
    if not statements:
        raise typer.BadParameter(
            "the query is empty (nothing but spaces, comments or ';'): give a SQL statement, "
            "e.g. 'select * from marts.dim_organizations'",
            param_hint="SQL",
        )
    database = _readable_database(use_warehouse)
    results: list[tuple[str, Any]] = []
    try:
        connection = connect(database, read_only=True)
        for statement in statements:
            relation = connection.sql(statement.query)  # None for a statement without rows (SET ...)
            if relation is not None:
                results.append((" ".join(statement.query.split()).rstrip(";").rstrip(), relation))
        if output != "table" and len(results) > 1:
            raise typer.BadParameter(
                f"{len(results)} statements return rows, and --format {output} writes one result: run "
                "them one at a time, or use --format table",
                param_hint="SQL",
            )
        for number, (text, relation) in enumerate(results):
            if output == "json":
                rows = relation.fetchall()
                typer.echo(json.dumps(records(relation.columns, rows), indent=2, ensure_ascii=False))
                continue
            frame = relation.df()
            if output == "csv":
                # CRLF line ends (RFC 4180) make the writer quote a cell holding a carriage return on every
                # Python.
                (frame if raw_csv else neutralize_formulas(frame)).to_csv(
                    sys.stdout, index=False, lineterminator="\r\n"
                )
                continue
            if len(results) > 1:
                _echo(("\n" if number else "") + f"-- {text}")
            _echo(frame.to_string(index=False, max_rows=200))
    except duckdb.Error as error:
        raise _fail(f"{error}\n{QUERY_HINT}") from None


def records(columns: list[str], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Query rows as JSON-ready records: dates, times and timestamps as ISO 8601 strings, decimals
    as numbers, NaN and infinities as null, UUIDs as text, bytes as base64, durations as ISO 8601."""
    return [dict(zip(columns, (_json_value(value) for value in row), strict=True)) for row in rows]


def _json_value(value: Any) -> Any:
    import base64
    import math
    from datetime import date, time
    from decimal import Decimal
    from uuid import UUID

    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        days, rest = divmod(abs(seconds), 86_400)
        return f"{'-' if seconds < 0 else ''}P{int(days)}DT{rest:g}S"
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return value


@app.command()
def summary(
    run_date: Annotated[
        datetime | None,
        typer.Option("--date", help="The run date (default: the latest run's).", formats=["%Y-%m-%d"]),
    ] = None,
) -> None:
    """Print a run's summary as its summarize step kept it: the latest scores, the accounts not
    active, the relationship-health alerts, where the weekly report is, and the accounts that failed."""
    from rapport.summary import find_run_summary

    settings = get_settings()
    path = find_run_summary(settings.data_dir, run_date.date() if run_date else None)
    if path is None:
        which = f"of run date {run_date:%Y-%m-%d}" if run_date else "yet"
        raise _fail(
            f"{settings.data_dir / 'reports'}: no run summary {which}; run `make demo` or the "
            "rapport_nightly DAG first"
        )
    _echo(path.read_text(encoding="utf-8").rstrip("\n"))


@app.command("email-report")
def email_report(
    report: Annotated[
        Path | None,
        typer.Argument(help="A weekly report file (default: the latest week's in the published folder)."),
    ] = None,
) -> None:
    """Email the weekly report to RAPPORT_REPORT_EMAIL_TO, as the nightly run does, through the Airflow
    SMTP connection RAPPORT_REPORT_EMAIL_CONNECTION (default smtp_default; outside Airflow, from the
    variable AIRFLOW_CONN_SMTP_DEFAULT)."""
    from rapport.pipeline import deliver_report

    if not get_settings().report_recipients:
        _echo("error: RAPPORT_REPORT_EMAIL_TO names no recipient: nobody to email the report to", err=True)
        raise typer.Exit(USER_MISTAKE)
    sent = deliver_report(report)
    _echo(f"emailed {sent['report']} (week {sent['week']}) to {sent['emailed_to']} recipient(s)")


@app.command()
def methodology(
    warehouse: Annotated[
        Path | None,
        typer.Option(
            "--warehouse", help="The warehouse to read (default: RAPPORT_WAREHOUSE); it is only read."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of Markdown tables.")] = False,
    skip_sensitivity: Annotated[
        bool, typer.Option("--skip-sensitivity", help="Leave out the sensitivity (it reruns dbt).")
    ] = False,
    var_names: Annotated[
        str | None,
        typer.Option("--vars", help="Perturb only these vars, comma-separated (default: every numeric var)."),
    ] = None,
) -> None:
    """Print the reliability figures of the scores: test-retest, stability, internal consistency and
    sensitivity to each weight and threshold (docs/methodology.md, "Reliability and sensitivity").

    The warehouse is only read; the sensitivity reruns dbt, once per var and direction, on a copy.
    """
    from rapport.reliability import compute_figures, figures_markdown

    settings = get_settings()
    names = [name.strip() for name in var_names.split(",") if name.strip()] if var_names else None
    figures = compute_figures(
        settings,
        warehouse or settings.warehouse,
        sensitivity=not skip_sensitivity,
        var_names=names,
        progress=lambda text: _echo(f"rerun: {text}", err=True),
    )
    if as_json:
        typer.echo(json.dumps(figures.as_json(), indent=2))
    else:
        typer.echo(figures_markdown(figures), nl=False)


FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may read as the start of a formula (OWASP, CSV injection)."""


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells starting with a formula character begin with ``'``.

    Only text cells change: a number (``-3.5``), a date or a missing value is left as it is.
    """
    neutralized = frame.copy()
    for column in neutralized.columns:
        values = neutralized[column]
        if values.dtype == object or str(values.dtype) in ("str", "string"):
            neutralized[column] = values.map(_neutralized_cell)
    return neutralized


def _neutralized_cell(value: object) -> object:
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value
