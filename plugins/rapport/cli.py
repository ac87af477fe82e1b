"""The ``rapport`` command: check the registry, extract one account, rebuild, show scores, query.

Every command works without Airflow, on the same paths as the DAG
(``rapport.settings``). Errors are printed as one clear message, never a
traceback.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from rapport.settings import get_settings

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
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
    return typer.Exit(code=1)


@accounts_app.command("check")
def check_accounts(
    file: Annotated[Path | None, typer.Option(help="Registry file (default: RAPPORT_ACCOUNTS).")] = None,
) -> None:
    """Validate the account registry and list its accounts."""
    from rapport.accounts import RegistryError, load_registry

    path = file or get_settings().accounts_file
    try:
        registry = load_registry(path)
    except RegistryError as error:
        raise _fail(str(error)) from None
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
    from rapport.accounts import RegistryError
    from rapport.landing import LandingError
    from rapport.pipeline import extract_account
    from rapport.sources import SourceError

    try:
        summary = extract_account(account_id, until=until.replace(tzinfo=UTC) if until else None)
    except (KeyError, RegistryError, SourceError, LandingError) as error:
        raise _fail(str(error).strip("'\"")) from None
    typer.echo(json.dumps(summary, indent=2))


@app.command()
def fetch(
    platform: Annotated[str, typer.Argument(help="demo, mastodon or bluesky.")],
    address: Annotated[str, typer.Argument(help="'@user@instance', 'name.bsky.social' or '@name' (demo).")],
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

    from rapport.accounts import RegistryError, parse_account
    from rapport.sources import NormalizationError, SourceError, Window, extract_with_cost, get_source
    from rapport.sources.payloads import records_frames

    try:
        account = parse_account(platform, address)
        source = get_source(platform)
    except (RegistryError, KeyError) as error:
        raise _fail(str(error).strip("'\"")) from None
    end = (until.replace(tzinfo=UTC) if until else datetime.now(UTC)).astimezone(UTC)
    start = since.replace(tzinfo=UTC) if since else end - timedelta(weeks=get_settings().history_weeks)
    window = Window(start, end)
    pages_iterator, cost = extract_with_cost(source, account, window)
    pages = []
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        transient=True,
        console=Console(stderr=True),
    ) as progress:
        task = progress.add_task(f"fetching {account.account_id}", total=None)
        try:
            for page in pages_iterator:
                pages.append(page)
                progress.update(task, description=f"fetching {account.account_id}: {len(pages)} pages")
        except SourceError as error:
            raise _fail(str(error)) from None
    try:
        frames = records_frames(source.normalize(pages, account, end.replace(tzinfo=None)))
    except NormalizationError as error:
        raise _fail(str(error)) from None
    posts, interactions = frames["posts"], frames["interactions"]
    typer.echo(f"{account.account_id}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC")
    for snapshot in frames["account_snapshots"].itertuples():
        typer.echo(
            f"  account: {snapshot.followers_count} followers, {snapshot.following_count} following, "
            f"{snapshot.posts_count} posts in all"
        )
    by_type = posts["post_type"].value_counts().to_dict() if len(posts) else {}
    typer.echo(f"  posts: {len(posts)} " + json.dumps(by_type))
    kinds = interactions["interaction_type"].value_counts().to_dict() if len(interactions) else {}
    questions = int(interactions["is_question"].sum()) if len(interactions) else 0
    typer.echo(f"  from the public: {len(interactions)} " + json.dumps(kinds) + f", {questions} questions")
    spent = f"{len(pages)} responses"
    if cost is not None:
        http = cost()
        spent = (
            f"{http['requests']} API calls ({http['retries']} retries, {http['rate_limited']} rate-limited, "
            f"{http['slept_seconds']:.1f} s waiting), {len(pages)} responses"
        )
    typer.echo(f"  cost: {spent}")


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

    from rapport.accounts import RegistryError
    from rapport.landing import LandingError
    from rapport.load import WarehouseBusyError
    from rapport.pipeline import RebuildRefusedError
    from rapport.pipeline import rebuild as rebuild_warehouse
    from rapport.transform import TransformError

    try:
        result = rebuild_warehouse(force=force)
    except (RebuildRefusedError, WarehouseBusyError, RegistryError, LandingError, TransformError) as error:
        raise _fail(str(error)) from None
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
    from rapport.summary import latest_scores_table

    database = _readable_database(use_warehouse)
    try:
        _echo(latest_scores_table(database))
    except Exception as error:  # a missing mart, a locked file: say it plainly
        raise _fail(f"{database}: {error}") from None


@app.command()
def query(
    sql: Annotated[
        str, typer.Argument(help="A SQL query, e.g. 'select * from marts.fct_relationship_scores'.")
    ],
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    use_warehouse: Annotated[bool, WAREHOUSE_OPTION] = False,
) -> None:
    """Run a read-only SQL query on the published marts and print the result."""
    import duckdb

    from rapport.load import connect

    if output not in ("table", "csv", "json"):
        raise _fail(f"--format must be table, csv or json, not {output!r}")
    database = _readable_database(use_warehouse)
    try:
        connection = connect(database, read_only=True)
        relation = connection.sql(sql)
        frame = relation.df() if relation is not None else None
    except duckdb.Error as error:
        raise _fail(
            f"{error}\nhint: the published copy holds the marts (marts.fct_relationship_scores, "
            "marts.fct_account_weekly_metrics, marts.dim_accounts, marts.dim_organizations); list them with: "
            'rapport query "select table_schema, table_name from information_schema.tables"'
        ) from None
    if frame is None:
        return
    if output == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif output == "json":
        typer.echo(frame.to_json(orient="records", date_format="iso", indent=2))
    else:
        _echo(frame.to_string(index=False, max_rows=200))
