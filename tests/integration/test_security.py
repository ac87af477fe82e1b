"""Security end to end: secrets stay secret, names stay text, markup stays inert.

One nightly run, step by step as ``rapport_nightly`` runs it, against the
local Mastodon, Bluesky and YouTube servers, with:

- a Mastodon token, a Bluesky app password, the session tokens the local
  PDS hands out and a YouTube API key, each a string found nowhere else; a
  first sign-in with a wrong app password and a first YouTube night with a
  wrong key (400 "API key not valid", the night before), a 500 answered once,
  an account answered 401, one whose batch is quarantined and a YouTube night
  stopped by Google's ``quotaExceeded``, because error paths are where URLs,
  bodies and headers leak;
- a registry whose organization names and peer groups carry SQL and HTML,
  and accounts whose display names and posts carry ``<script>`` and rich markup.

Then every log line (DEBUG and up), every step's return value (what Airflow
keeps as XComs), every exception and every file under the Rapport home
(payloads decompressed, Parquet and DuckDB files read table by table) is
searched for the secrets, as written and base64-encoded; the warehouse, the
report, the CLI and the Data Docs are checked to keep the names as text, byte
for byte. The last test runs the DAG under ``airflow dags test`` (the YouTube key
in ``RAPPORT_YOUTUBE_API_KEY``, masked in the task logs) and searches Airflow's
output, its home and its XCom table.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import io
import json
import logging
import os
import stat
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from rapport import zones
from tests.integration.conftest import query, rapport_environment
from tests.platforms.bluesky_server import BlueskyServer
from tests.platforms.mastodon_server import MastodonServer
from tests.platforms.world import Answer, World
from tests.platforms.youtube_server import YouTubeServer, channels_from_world

pytestmark = pytest.mark.slow

NIGHT = datetime(2026, 11, 23, tzinfo=UTC)
WEEKS = 6

MASTODON_TOKEN = "mtok-7c1e9b20-LEAKCHECK-a41f"
BLUESKY_LOGIN = "rapport-reader.bsky.social"
BLUESKY_APP_PASSWORD = "bskypw-4f2a-LEAKCHECK-9d0c"
WRONG_APP_PASSWORD = "bskypw-0aa1-LEAKCHECK-wrong"
SESSION_JWT = "session-91d3-LEAKCHECK-access"
REFRESH_JWT = "session-5be8-LEAKCHECK-refresh"
YOUTUBE_KEY = "AIzaSy-d25c-LEAKCHECK-ytkey"
WRONG_YOUTUBE_KEY = "AIzaSy-6e07-LEAKCHECK-ytwrong"
SECRETS = (
    MASTODON_TOKEN,
    BLUESKY_APP_PASSWORD,
    WRONG_APP_PASSWORD,
    SESSION_JWT,
    REFRESH_JWT,
    YOUTUBE_KEY,
    WRONG_YOUTUBE_KEY,
)
YOUTUBE_QUOTA = 4
"""Units the YouTube server grants the key: the night's fifth call is answered 403 quotaExceeded."""

SCRIPT_NAME = (
    '<script>alert(1)</script><img src=x onerror=alert(2)> & "Friends" " onmouseover="alert(3)'
    " [bold red]of[/bold red] [link=https://evil.example]Rapport[/link]"
)
SQL_NAME = "Robert'); DROP TABLE raw.organizations; --"
SQL_PEER_GROUP = "x'; drop table raw.posts; --"
SCRIPT_DISPLAY_NAME = "<script>alert('display')</script> [bold]Display[/bold]"
SQL_DISPLAY_NAME = "O'Brien\"; DROP TABLE marts.dim_accounts; --"
POST_SCRIPT = "<script>alert('rapport')</script>"  # in a post of every world account (world.SPECIAL_TEXTS)

REGISTRY = f"""\
organizations:
  - id: script-friends
    name: {json.dumps(SCRIPT_NAME)}
    peer_group: culture
    size_band: small
    language: en
    accounts:
      - platform: mastodon
        handle: "@org001"
        instance: social.example
      - platform: youtube
        handle: "@org001"
  - id: robert-tables
    name: {json.dumps(SQL_NAME)}
    peer_group: {json.dumps(SQL_PEER_GROUP)}
    size_band: medium
    language: en
    accounts:
      - platform: bluesky
        handle: org003.bsky.social
  - id: refused-org
    name: Refused Organization
    peer_group: culture
    size_band: small
    language: en
    accounts:
      - platform: mastodon
        handle: "@org002"
        instance: social.example
  - id: quarantined-org
    name: Quarantined Organization
    peer_group: culture
    size_band: small
    language: en
    accounts:
      - platform: mastodon
        handle: "@org004"
        instance: social.example
"""

CREATE_SESSION = "com.atproto.server.createSession"
YOUTUBE_CHANNEL = "youtube:@org001"


def secret_forms(secret: str) -> list[bytes]:
    """The secret as written, and as base64 (a Basic or JSON-in-base64 leak) in its three alignments."""
    forms = [secret.encode()]
    for prefix in ("", "x", "xy"):
        encoded = base64.b64encode((prefix + secret).encode())
        # Skip the characters that depend on the prefix and the padding.
        forms.append(encoded[{"": 0, "x": 4, "xy": 4}[prefix] : -4])
    return forms


LEAK_FORMS = [form for secret in SECRETS for form in secret_forms(secret)] + [
    base64.b64encode(f"{BLUESKY_LOGIN}:{BLUESKY_APP_PASSWORD}".encode())
]


def leaks(data: bytes | str) -> list[str]:
    """The secrets found in ``data``, in any of their forms."""
    if isinstance(data, str):
        data = data.encode("utf-8", errors="replace")
    return [form.decode() for form in LEAK_FORMS if form in data]


# --------------------------------------------------------------------------- the platforms


class CheckingMastodon(MastodonServer):
    """The Mastodon server, recording every Authorization header: ``org002`` is refused with a 401,
    the first statuses call fails with a 500 (retried), ``org004`` lists a status with a negative count."""

    def __init__(self, world: World, **options: Any) -> None:
        super().__init__(world, **options)
        self.authorizations: list[str | None] = []
        self.failed_once = False

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.authorizations.append(environ.get("HTTP_AUTHORIZATION"))
        return super().wsgi(environ, start_response)

    def dispatch(self, request: Any, endpoint: str) -> Answer:
        _, account = self.identify(request.method, request.path, dict(request.args))
        if account == "org002":
            return Answer(401, {"error": "The access token is invalid"})
        if endpoint == "statuses" and not self.failed_once:
            self.failed_once = True
            return Answer(500, {"error": "We're sorry, but something went wrong on our end."})
        answer = super().dispatch(request, endpoint)
        if account == "org004" and endpoint == "statuses" and answer.body:
            # A negative count: the batch fails validation and is quarantined.
            answer.body[0]["favourites_count"] = -1
        return answer


class CheckingBluesky(BlueskyServer):
    """The Bluesky server as a PDS: ``createSession`` with the app password, reads with its token only."""

    def __init__(self, world: World, **options: Any) -> None:
        super().__init__(world, **options)
        self.authorizations: list[str | None] = []
        self.sign_ins: list[dict[str, Any]] = []

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.authorizations.append(environ.get("HTTP_AUTHORIZATION"))
        return super().wsgi(environ, start_response)

    def dispatch(self, request: Any, endpoint: str) -> Answer:
        if endpoint == CREATE_SESSION and request.method == "POST":
            body = request.get_json(silent=True) or {}
            self.sign_ins.append(body)
            if body.get("identifier") == BLUESKY_LOGIN and body.get("password") == BLUESKY_APP_PASSWORD:
                return Answer(
                    200,
                    {
                        "did": "did:plc:rapportreader0000000000",
                        "handle": BLUESKY_LOGIN,
                        "accessJwt": SESSION_JWT,
                        "refreshJwt": REFRESH_JWT,
                        "active": True,
                    },
                )
            return Answer(
                401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
            )
        if request.headers.get("Authorization") != f"Bearer {SESSION_JWT}":
            return Answer(401, {"error": "AuthenticationRequired", "message": "Authentication Required"})
        return super().dispatch(request, endpoint)


def rename(world: World, handle: str, display_name: str) -> None:
    """Give a world account another display name, everywhere the servers read it."""
    account = world.accounts[handle]
    old = account.person
    new = dataclasses.replace(old, display_name=display_name)
    account.person = new
    world.people[new.number] = new
    for post in world.posts.values():
        if post.author is old:
            post.author = new


# --------------------------------------------------------------------------- the run


@dataclasses.dataclass
class Night:
    """What one run left behind: its home, the servers, the step results, errors and output."""

    home: Path
    mastodon: CheckingMastodon
    bluesky: CheckingBluesky
    youtube: YouTubeServer
    results: dict[str, Any]
    errors: list[BaseException]
    output: str


def platform_settings(
    mastodon: MastodonServer,
    bluesky: BlueskyServer,
    youtube: YouTubeServer,
    app_password: str,
    youtube_key: str,
) -> dict[str, str]:
    """The settings that point the three sources at the test servers, with the secrets to look for."""
    return {
        "RAPPORT_YOUTUBE_BASE_URL": youtube.url,
        "RAPPORT_YOUTUBE_API_KEY": youtube_key,
        "RAPPORT_HISTORY_WEEKS": str(WEEKS),
        "RAPPORT_MASTODON_BASE_URL": mastodon.url,
        "RAPPORT_MASTODON_TOKEN": MASTODON_TOKEN,
        "RAPPORT_MASTODON_INSTANCE": "social.example",  # the instance the token belongs to
        "RAPPORT_BLUESKY_BASE_URL": bluesky.url,
        "RAPPORT_BLUESKY_PDS_URL": bluesky.url,
        "RAPPORT_BLUESKY_HANDLE": BLUESKY_LOGIN,
        "RAPPORT_BLUESKY_APP_PASSWORD": app_password,
    }


@contextmanager
def everything_logged() -> Iterator[io.StringIO]:
    """Every log record at DEBUG and up, with tracebacks, and whatever is printed, into one stream."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with redirect_stdout(stream), redirect_stderr(stream):
            yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def run_night(until: datetime, errors: list[BaseException]) -> dict[str, Any]:
    """Every step of rapport_nightly, each task's failure logged as Airflow logs it."""
    from rapport import pipeline

    task_log = logging.getLogger("airflow.task")

    def failed(task_id: str, account_id: str | None, error: BaseException) -> None:
        errors.append(error)
        task_log.error("Task failed with exception", exc_info=error)
        task_instance = SimpleNamespace(task_id=task_id, map_index=0 if account_id else -1)
        task_instance.rendered_map_index = account_id
        pipeline.on_task_failure({"run_id": "security", "task_instance": task_instance, "exception": error})

    results: dict[str, Any] = {"extract": []}
    for account_id in pipeline.list_account_ids():
        try:
            results["extract"].append(pipeline.extract_account(account_id, until))
        except Exception as error:
            failed(f"extract_{account_id.partition(':')[0]}", account_id, error)
    results["validate"] = pipeline.validate_run(until)
    results["load"] = pipeline.load_run(until)
    results["build"] = pipeline.build_models()
    results["publish"] = pipeline.publish_marts(until)
    try:
        results["summarize"] = pipeline.summarize_run(until)
    except pipeline.RunFailedError as error:
        failed("summarize", None, error)
    return results


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Night]:
    from rapport import pipeline

    world = World.generate(accounts=4, weeks=WEEKS, until=NIGHT, seed=0)
    rename(world, "org001", SCRIPT_DISPLAY_NAME)
    rename(world, "org003", SQL_DISPLAY_NAME)
    home = tmp_path_factory.mktemp("security")
    (home / "config").mkdir()
    (home / "config" / "accounts.yml").write_text(REGISTRY, encoding="utf-8")
    errors: list[BaseException] = []
    channels = channels_from_world(world, ["org001"])  # its display name carries a script
    with (
        CheckingMastodon(world, rate_limit=10_000, window_seconds=60) as mastodon,
        CheckingBluesky(world, rate_limit=10_000, window_seconds=60) as bluesky,
        YouTubeServer(channels, keys=[YOUTUBE_KEY], quota=YOUTUBE_QUOTA) as youtube,
        rapport_environment(
            home,
            **platform_settings(
                mastodon,
                bluesky,
                youtube,
                app_password=WRONG_APP_PASSWORD,
                youtube_key=WRONG_YOUTUBE_KEY,
            ),
        ) as home,
        everything_logged() as output,
    ):
        # The night before, the app password and the API key were wrong: both are refused.
        for account_id in ("bluesky:org003.bsky.social", YOUTUBE_CHANNEL):
            try:
                pipeline.extract_account(account_id, NIGHT - timedelta(days=1))
            except Exception as error:
                errors.append(error)
                logging.getLogger("airflow.task").error("Task failed with exception", exc_info=error)
        os.environ["RAPPORT_BLUESKY_APP_PASSWORD"] = BLUESKY_APP_PASSWORD
        os.environ["RAPPORT_YOUTUBE_API_KEY"] = YOUTUBE_KEY
        results = run_night(NIGHT, errors)
        output.write("".join(line for error in errors for line in traceback.format_exception(error)))
        output.write("".join(repr(error) for error in errors))
        yield Night(home, mastodon, bluesky, youtube, results, errors, output.getvalue())


# --------------------------------------------------------------------------- secrets


def test_the_platforms_received_the_credentials_so_there_was_something_to_leak(night: Night):
    mastodon_sent = {header for header in night.mastodon.authorizations if header}
    assert mastodon_sent == {f"Bearer {MASTODON_TOKEN}"}
    assert None not in night.mastodon.authorizations
    passwords = [sign_in.get("password") for sign_in in night.bluesky.sign_ins]
    assert passwords == [WRONG_APP_PASSWORD, BLUESKY_APP_PASSWORD]
    reads = [header for header in night.bluesky.authorizations if header]
    assert reads and set(reads) == {f"Bearer {SESSION_JWT}"}
    # YouTube: the wrong key refused once (400), then the right key until Google's quotaExceeded.
    youtube = [(call.key, call.status) for call in night.youtube.log]
    assert youtube[0] == (WRONG_YOUTUBE_KEY, 400)
    assert {key for key, _ in youtube[1:]} == {YOUTUBE_KEY}
    assert [status for _, status in youtube[1:]] == [200] * YOUTUBE_QUOTA + [403]
    # The error paths ran: a 500 retried, a 401 on Mastodon, a refused sign-in, a failed run.
    assert night.mastodon.failed_once
    assert [request.status for request in night.mastodon.requests if request.account == "org002"] == [401]
    assert [type(error).__name__ for error in night.errors] == [
        "ClientError",
        "ApiKeyError",
        "ClientError",
        "RunFailedError",
    ]
    assert [summary["account_id"] for summary in night.results["extract"]] == [
        "mastodon:@org001@social.example",
        YOUTUBE_CHANNEL,
        "bluesky:org003.bsky.social",
        "mastodon:@org004@social.example",
    ]


def test_no_secret_in_log_lines_printed_output_or_tracebacks(night: Night):
    assert "401" in night.output and "500" in night.output  # the failures were logged, with their URLs
    assert night.mastodon.url in night.output and night.bluesky.url in night.output
    assert night.youtube.url in night.output and "quotaExceeded" in night.output
    assert leaks(night.output) == []


def test_no_secret_in_what_the_steps_return_the_airflow_xcoms(night: Night):
    xcoms = json.dumps(night.results, default=str)
    assert night.results["validate"]["quarantined"] == ["mastodon:@org004@social.example"]
    assert night.results["validate"]["staged"] == 3 and "rapport.duckdb" in xcoms
    assert leaks(xcoms) == []
    for error in night.errors:
        assert leaks(str(error) + repr(error) + repr(getattr(error, "response", None))) == []


def contents(path: Path) -> Iterator[bytes]:
    """A file's bytes, plus what it holds when its bytes are compressed: gzip, Parquet or DuckDB tables."""
    import duckdb

    data = path.read_bytes()
    yield data
    if path.name.endswith(".gz"):
        yield gzip.decompress(data)
    elif path.suffix in (".parquet", ".duckdb"):
        is_database = path.suffix == ".duckdb"
        connection = duckdb.connect(str(path) if is_database else ":memory:", read_only=is_database)
        try:
            if not is_database:
                yield repr(
                    connection.execute("select * from read_parquet(?)", [str(path)]).fetchall()
                ).encode()
                return
            tables = connection.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
            ).fetchall()
            for schema, table in tables:
                rows = connection.execute(f'select * from "{schema}"."{table}"').fetchall()
                yield f"{schema}.{table}: {rows!r}".encode()
        finally:
            connection.close()


def test_no_secret_in_any_file_under_the_rapport_home(night: Night):
    searched: list[str] = []
    found: dict[str, list[str]] = {}
    session_file = zones.session_state_file(night.home / "data", "bluesky")
    for path in sorted(night.home.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        relative = path.relative_to(night.home).as_posix()
        if path == session_file:
            # The one place the session tokens are meant to be: private, without the app password.
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert BLUESKY_APP_PASSWORD.encode() not in path.read_bytes()
            continue
        searched.append(relative)
        for data in contents(path):
            if leaked := leaks(data):
                found[relative] = leaked
    assert found == {}
    # Everything a run writes was searched, not an empty folder.
    for pattern in (
        "data/landing/platform=mastodon/*/run_date=*/extraction=*/0001.json.gz",
        "data/landing/platform=bluesky/*/run_date=2026-11-22/extraction=*/manifest.json",
        "data/landing/platform=mastodon/account=org002_social.example/*/*/manifest.json",
        "data/landing/platform=youtube/*/run_date=2026-11-22/extraction=*/0001.json.gz",
        "data/landing/platform=youtube/*/run_date=2026-11-23/extraction=*/0005.json.gz",
        "data/state/youtube/quota.json",
        "data/validated/run_date=*/part=*/posts.parquet",
        "data/quarantine/run_date=*/extraction=*/validation.json",
        "data/quarantine/run_date=*/extraction=*/posts.parquet",
        "data/reports/run_date=*/validation.json",
        "data/warehouse.duckdb",
        "data/published/rapport.duckdb",
        "data/published/parquet/*/dim_organizations.parquet",
        "data/published/report/latest.html",
        "data/published/dbt_docs/index.html",
        "data/gx_docs/run_date=*/gx/uncommitted/data_docs/local_site/index.html",
        "data/logs/dbt/dbt.log",
    ):
        assert any(Path(relative).match(pattern) for relative in searched), pattern


def test_a_failed_request_is_landed_and_named_with_its_url_but_without_the_secret(night: Night):
    landing = night.home / "data" / "landing"
    [refused] = landing.glob("platform=mastodon/account=org002_social.example/run_date=*/extraction=*")
    manifest = json.loads((refused / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert "401" in manifest["error"] and night.mastodon.url in manifest["error"]
    assert "The access token is invalid" in manifest["error"]
    [sign_in] = landing.glob("platform=bluesky/*/run_date=2026-11-22/extraction=*")
    manifest = json.loads((sign_in / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "Invalid identifier or password" in manifest["error"]
    assert leaks(json.dumps(manifest)) == []
    [refused_key] = landing.glob("platform=youtube/*/run_date=2026-11-22/extraction=*")
    manifest = json.loads((refused_key / "manifest.json").read_text())
    assert manifest["status"] == "failed" and [page["status"] for page in manifest["pages"]] == [400]
    assert "API key not valid" in manifest["error"] and night.youtube.url in manifest["error"]
    assert "RAPPORT_YOUTUBE_API_KEY" in manifest["error"]
    assert leaks(json.dumps(manifest)) == []
    # The quota stopped the night cleanly: Google's 403 is landed with what came before it.
    [stopped] = landing.glob("platform=youtube/*/run_date=2026-11-23/extraction=*")
    manifest = json.loads((stopped / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert [page["status"] for page in manifest["pages"]] == [200] * YOUTUBE_QUOTA + [403]
    assert b"quotaExceeded" in gzip.decompress((stopped / manifest["pages"][-1]["file"]).read_bytes())
    assert leaks(json.dumps(manifest)) == []


# --------------------------------------------------------------------------- names stay text


def test_names_with_sql_are_stored_byte_for_byte_and_every_table_survives(night: Night):
    warehouse = night.home / "data" / "warehouse.duckdb"
    tables = {
        f"{schema}.{name}"
        for schema, name in query(warehouse, "select schema_name, table_name from duckdb_tables()")
    }
    assert {"raw.posts", "raw.organizations", "raw.accounts", "marts.dim_accounts"} <= tables
    assert query(warehouse, "select count(*) from raw.posts")[0][0] > 0
    organizations = dict(query(warehouse, "select organization_id, name from raw.organizations"))
    assert organizations["script-friends"] == SCRIPT_NAME
    assert organizations["robert-tables"] == SQL_NAME
    peer_groups = query(
        warehouse, "select peer_group from marts.dim_organizations where organization_id = 'robert-tables'"
    )
    assert peer_groups == [(SQL_PEER_GROUP,)]
    for database in (warehouse, night.home / "data" / "published" / "rapport.duckdb"):
        names = dict(
            query(database, "select organization_id, organization_name from marts.dim_organizations")
        )
        assert names["script-friends"] == SCRIPT_NAME and names["robert-tables"] == SQL_NAME
        display_names = dict(query(database, "select handle, display_name from marts.dim_accounts"))
        assert SCRIPT_DISPLAY_NAME in display_names.values() and SQL_DISPLAY_NAME in display_names.values()
    texts = query(warehouse, "select count(*) from raw.posts where contains(text, ?)", [POST_SCRIPT])
    assert texts[0][0] >= 1


class Page(HTMLParser):
    """The elements, attributes and text of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def test_the_report_shows_scripts_and_markup_in_names_as_text(night: Night):
    page = parse(night.home / "data" / "published" / "report" / "latest.html")
    assert page.scripts == [] and "img" not in page.tags
    assert [name for name, _ in page.attributes if name.startswith("on")] == []
    text = " ".join(page.text)
    for shown in (SCRIPT_NAME, SQL_NAME, SQL_PEER_GROUP, SCRIPT_DISPLAY_NAME, SQL_DISPLAY_NAME):
        assert shown in text


def test_dbt_docs_hold_no_data_so_no_name_reaches_them(night: Night):
    docs = (night.home / "data" / "published" / "dbt_docs" / "index.html").read_text(encoding="utf-8")
    for value in (SCRIPT_NAME, SQL_NAME, SCRIPT_DISPLAY_NAME, POST_SCRIPT):
        assert value not in docs and json.dumps(value)[1:-1] not in docs


def test_data_docs_show_an_unexpected_value_carrying_a_script_as_text(night: Night, tmp_path: Path):
    import pandas as pd

    from rapport.validation import BatchValidator
    from rapport.validation.suites import BATCH_COLUMN

    part = sorted((night.home / "data" / "validated").glob("run_date=*/part=*/posts.parquet"))[0]
    frames = {
        name: pd.read_parquet(part.with_name(f"{name}.parquet")).drop(columns=BATCH_COLUMN)
        for name in ("account_snapshots", "posts", "interactions")
    }
    payload = "<script>alert('gx')</script>"
    frames["posts"].loc[0, "platform"] = payload
    validator = BatchValidator(tmp_path / "gx")
    failures = validator.validate(frames, run_name="security")
    assert any(failure.column == "platform" and payload in failure.detail for failure in failures)
    index = validator.build_data_docs()
    pages = [parse(path) for path in index.parent.rglob("*.html")]
    assert len(pages) > 1
    assert all("alert('gx')" not in script for page in pages for script in page.scripts)
    assert any(payload in " ".join(page.text) for page in pages)  # shown, as text


def test_the_cli_prints_names_literally_without_interpreting_markup(night: Night):
    from typer.testing import CliRunner

    from rapport.cli import app

    runner = CliRunner()
    scores = runner.invoke(app, ["scores"])
    assert scores.exit_code == 0, scores.output
    assert SCRIPT_NAME in scores.output and SQL_NAME in scores.output
    listed = runner.invoke(
        app,
        [
            "query",
            "select organization_name, peer_group from marts.dim_organizations order by 1",
            "--format",
            "json",
        ],
    )
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert {"organization_name": SCRIPT_NAME, "peer_group": "culture"} in rows
    assert {"organization_name": SQL_NAME, "peer_group": SQL_PEER_GROUP} in rows
    table = runner.invoke(app, ["query", "select display_name from marts.dim_accounts"])
    assert SCRIPT_DISPLAY_NAME in table.output
    checked = runner.invoke(app, ["accounts", "check"])
    assert checked.exit_code == 0 and f"(medium, {SQL_PEER_GROUP})" in checked.output


def test_under_airflow_no_secret_reaches_the_task_logs_or_the_xcom_table(tmp_path: Path):
    import sqlite3

    from tests.integration.conftest import airflow, airflow_environment

    world = World.generate(accounts=4, weeks=WEEKS, until=NIGHT, seed=0)
    (tmp_path / "rapport" / "config").mkdir(parents=True)
    (tmp_path / "rapport" / "config" / "accounts.yml").write_text(REGISTRY, encoding="utf-8")
    with (
        CheckingMastodon(world, rate_limit=10_000, window_seconds=60) as mastodon,
        CheckingBluesky(world, rate_limit=10_000, window_seconds=60) as bluesky,
        YouTubeServer(channels_from_world(world, ["org001"]), keys=[YOUTUBE_KEY]) as youtube,
    ):
        environment = airflow_environment(
            tmp_path,
            # One account per task: the refused account fails its own task, the others push their XComs.
            RAPPORT_ACCOUNTS_PER_TASK="1",
            **platform_settings(
                mastodon, bluesky, youtube, app_password=BLUESKY_APP_PASSWORD, youtube_key=YOUTUBE_KEY
            ),
        )
        completed = airflow(
            environment, "dags", "test", "rapport_nightly", NIGHT.date().isoformat(), check=False
        )
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0 and "mastodon:@org002@social.example" in output  # the refused account
    assert {header for header in mastodon.authorizations} == {f"Bearer {MASTODON_TOKEN}"}
    assert f"Bearer {SESSION_JWT}" in bluesky.authorizations
    assert youtube.log and {call.key for call in youtube.log} == {YOUTUBE_KEY}
    assert leaks(output) == []
    database = sqlite3.connect(tmp_path / "airflow" / "airflow.db")
    try:
        xcoms = database.execute("select task_id, map_index, key, value from xcom").fetchall()
    finally:
        database.close()
    assert {task_id for task_id, *_ in xcoms} >= {
        "extract_mastodon",
        "extract_bluesky",
        "extract_youtube",
        "validate",
        "publish",
    }
    assert leaks(repr(xcoms)) == []
    found = {
        path.relative_to(tmp_path).as_posix(): leaked
        for path in sorted((tmp_path / "airflow").rglob("*"))
        if path.is_file() and (leaked := leaks(path.read_bytes()))
    }
    assert found == {}
    # Nor in the Rapport home the tasks wrote (its Bluesky session file holds the session tokens).
    youtube_forms = [form for key in (YOUTUBE_KEY, WRONG_YOUTUBE_KEY) for form in secret_forms(key)]
    home = tmp_path / "rapport"
    found = {
        path.relative_to(home).as_posix(): path.name
        for path in sorted(home.rglob("*"))
        if path.is_file() and any(form in data for data in contents(path) for form in youtube_forms)
    }
    assert found == {}
    assert list(home.glob("data/landing/platform=youtube/*/run_date=*/extraction=*/0001.json.gz"))
