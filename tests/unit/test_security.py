"""Security checks that take milliseconds: hostile names and handles from the registry and the
platforms, through the registry, the warehouse, the report and the CLI; credentials and redirects.

The end-to-end run (local platforms, every file and log line searched) is
tests/integration/test_security.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response as ServerResponse

from rapport.accounts import RegistryError, load_registry, parse_account
from rapport.publish.report import write_report
from tests.conftest import write_registry
from tests.unit.test_report_html import build_warehouse

SQL_HANDLE = "x'; DROP TABLE posts; --"
FREE_TEXT = {
    "name": "Robert'); DROP TABLE raw.organizations; -- <script>alert(1)</script> [bold]x[/bold] \\ é 🎉",
    "peer_group": 'x"; drop table raw.posts; --',
}
TOKEN = "tok-LEAKCHECK-8e61"
APP_PASSWORD = "pw-LEAKCHECK-27c4"


def registry_text(account: str, **organization: str) -> str:
    fields = {"id": "tables", "name": "Tables", "peer_group": "test"} | organization
    return (
        "organizations:\n"
        f"  - id: {fields['id']}\n"
        f"    name: '{fields['name'].replace(chr(39), chr(39) * 2)}'\n"
        f"    peer_group: '{fields['peer_group'].replace(chr(39), chr(39) * 2)}'\n"
        "    size_band: small\n"
        "    language: en\n"
        "    accounts:\n"
        f"{account}"
    )


# --------------------------------------------------------------------------- the registry


@pytest.mark.parametrize(
    ("platform", "instance"),
    [("demo", ""), ("mastodon", "        instance: social.example\n"), ("bluesky", "")],
)
def test_a_handle_carrying_sql_is_rejected_naming_the_file_the_line_and_the_field(
    tmp_path: Path, platform: str, instance: str
):
    account = f'      - platform: {platform}\n        handle: "{SQL_HANDLE}"\n{instance}'
    path = write_registry(tmp_path / "accounts.yml", registry_text(account))

    with pytest.raises(RegistryError) as raised:
        load_registry(path)

    message = str(raised.value)
    assert message.startswith(f"{path}:8: tables.accounts[0]: malformed {platform} handle ")
    assert repr(SQL_HANDLE) in message


@pytest.mark.parametrize(
    ("field", "account"),
    [
        ("'id' must be a lowercase slug", '      - {platform: demo, handle: "@ok"}\n'),
        ("needs 'instance'", '      - {platform: mastodon, handle: "@ok", instance: "x.social\'; --"}\n'),
    ],
)
def test_an_id_or_an_instance_carrying_sql_is_rejected(tmp_path: Path, field: str, account: str):
    organization = {"id": "t'; drop table raw.accounts; --"} if "slug" in field else {}
    path = write_registry(tmp_path / "accounts.yml", registry_text(account, **organization))
    with pytest.raises(RegistryError, match=field) as raised:
        load_registry(path)
    assert str(raised.value).startswith(f"{path}:")


@pytest.mark.parametrize(
    ("platform", "address"),
    [
        ("mastodon", f"@{SQL_HANDLE}@social.example"),
        ("mastodon", "@city@social.example'; --"),
        ("bluesky", "[bold]x[/bold].bsky.social"),
        ("demo", "@[link=https://evil.example]x[/link]"),
    ],
)
def test_an_account_typed_on_the_command_line_is_checked_like_the_registry(platform: str, address: str):
    with pytest.raises(RegistryError, match=f"malformed {platform} handle|needs 'instance'"):
        parse_account(platform, address)


def test_free_text_with_sql_and_markup_is_kept_verbatim_and_loaded_as_text(tmp_path: Path):
    from rapport.load import load_batches

    account = '      - {platform: demo, handle: "@ok"}\n'
    registry = load_registry(write_registry(tmp_path / "accounts.yml", registry_text(account, **FREE_TEXT)))
    [organization] = registry.organizations
    assert (organization.name, organization.peer_group) == (FREE_TEXT["name"], FREE_TEXT["peer_group"])

    warehouse = tmp_path / "warehouse.duckdb"
    load_batches(warehouse, registry, [])
    load_batches(warehouse, registry, [])  # a second load replaces the registry rows, with the same values

    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = connection.execute(
            "select table_name from duckdb_tables() where schema_name = 'raw'"
        ).fetchall()
        stored = connection.execute("select name, peer_group from raw.organizations").fetchall()
    finally:
        connection.close()
    assert {"posts", "interactions", "account_snapshots", "organizations", "accounts"} <= {
        name for (name,) in tables
    }
    assert stored == [(FREE_TEXT["name"], FREE_TEXT["peer_group"])]


def test_publishing_quotes_the_folder_path_and_the_table_names_it_writes_sql_with(tmp_path: Path):
    from rapport.publish.serving import publish

    odd = 'odd"; drop table marts.weekly; --'
    warehouse = tmp_path / "warehouse.duckdb"
    connection = duckdb.connect(str(warehouse))
    try:
        connection.execute("create schema marts")
        connection.execute("create table marts.weekly as select date '2026-11-16' as week_start_date, 1 as n")
        connection.execute(f'create table marts."{odd.replace(chr(34), chr(34) * 2)}" as select 2 as n')
    finally:
        connection.close()

    publication = publish(warehouse, tmp_path / "o'brien's reports" / "published")

    assert publication.tables == {"marts.weekly": 1, f"marts.{odd}": 1}
    assert (publication.parquet_dir / f"{odd}.parquet").is_file()
    assert list((publication.parquet_dir / "weekly").glob("week_start_date=2026-11-16/*.parquet"))


# --------------------------------------------------------------------------- the report and the CLI

HOSTILE = {
    "organization_name": '<script>alert("org")</script>" onmouseover="alert(1) [bold]x[/bold]',
    "peer_group": "</td><script>alert('peer')</script>",
    "size_band": "<img src=x onerror=alert('size')>",
    "language_code": "<iframe src=javascript:alert('lang')>",
    "handle": "@<script>alert('handle')</script>",
    "display_name": "<svg onload=alert('display')>\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\\x1b[2J",
    "score_notes": "<script>alert('notes')</script>",
}
HOSTILE_ALERT = {"alert_rule": "<script>alert('kind')</script>", "message": "<b>alert('message')</b>"}
HOSTILE_LINK = ("<script>alert('link')</script>", 'docs/x" onclick="alert(1).html')


@pytest.fixture(scope="module")
def hostile_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report tests' warehouse, with markup in every text the report and the CLI show."""
    warehouse = build_warehouse(tmp_path_factory.mktemp("hostile") / "warehouse.duckdb")
    connection = duckdb.connect(str(warehouse))
    try:
        connection.execute(
            "update marts.dim_organizations set organization_name = ?, peer_group = ?, size_band = ?,"
            " language_code = ? where organization_id = 'open-lab'",
            [HOSTILE[key] for key in ("organization_name", "peer_group", "size_band", "language_code")],
        )
        connection.execute(
            "update marts.fct_organization_weekly_scores set organization_name = ?, peer_group = ?,"
            " size_band = ? where organization_id = 'open-lab'",
            [HOSTILE[key] for key in ("organization_name", "peer_group", "size_band")],
        )
        connection.execute(
            "update marts.dim_accounts set handle = ?, display_name = ? where account_id = 'demo:@open_lab'",
            [HOSTILE["handle"], HOSTILE["display_name"]],
        )
        connection.execute(
            "update marts.fct_relationship_scores set score_notes = ? where account_id = 'demo:@open_lab'",
            [f"trust: {HOSTILE['score_notes']}"],
        )
        connection.execute(
            "update marts.fct_relationship_alerts set alert_rule = ?, message = ? "
            "where account_id = 'demo:@open_lab'",
            [HOSTILE_ALERT["alert_rule"], HOSTILE_ALERT["message"]],
        )
    finally:
        connection.close()
    return warehouse


class Page(HTMLParser):
    """The elements, attributes and text of an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_report_shows_markup_from_the_data_as_text_never_as_elements(
    hostile_warehouse: Path, tmp_path: Path
):
    report = write_report(hostile_warehouse, tmp_path, links=dict([HOSTILE_LINK]))
    page = Page(report.read_text(encoding="utf-8"))

    assert not {"script", "img", "iframe", "b"} & set(page.tags)
    assert [name for name, _ in page.attributes if name.startswith("on")] == []
    assert ("href", HOSTILE_LINK[1]) in page.attributes
    assert ("aria-label", f"Alerts for {HOSTILE['organization_name']}") in page.attributes
    text = "".join(page.text)
    for shown in [*HOSTILE.values(), *HOSTILE_ALERT.values(), HOSTILE_LINK[0]]:
        assert shown in text


@pytest.fixture
def published(hostile_warehouse: Path, rapport_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Rapport home whose published copy is the hostile warehouse."""
    published_dir = rapport_home / "data" / "published"
    published_dir.mkdir(parents=True)
    shutil.copy(hostile_warehouse, published_dir / "rapport.duckdb")
    monkeypatch.delenv("RAPPORT_PUBLISHED_DIR", raising=False)
    return published_dir


def test_the_cli_prints_rich_markup_literally_and_control_characters_as_escapes(published: Path):
    from typer.testing import CliRunner

    from rapport.cli import app

    runner = CliRunner()
    # color=True: the output is treated as a terminal's, nothing is stripped on the way.
    scores = runner.invoke(app, ["scores"], color=True)
    assert scores.exit_code == 0, scores.output
    assert HOSTILE["organization_name"] in scores.output

    table = runner.invoke(app, ["query", "select handle, display_name from marts.dim_accounts"], color=True)
    assert table.exit_code == 0, table.output
    assert HOSTILE["handle"] in table.output
    assert "\x1b" not in table.output and "\\x1b]8;;https://evil.example\\x1b\\click" in table.output

    failed = runner.invoke(app, ["query", "select cast(chr(27) || '[2J' as integer)"], color=True)
    assert failed.exit_code == 1 and "\x1b" not in failed.output and "\\x1b[2J" in failed.output


# --------------------------------------------------------------------------- credentials and redirects


@pytest.fixture
def elsewhere() -> Iterator[HTTPServer]:
    """Another host (``localhost`` where the platform is ``127.0.0.1``), recording what reaches it."""
    server = HTTPServer(host="localhost")
    server.start()
    yield server
    server.clear()
    server.stop()


def test_a_redirect_to_another_host_does_not_carry_the_token_along(
    httpserver: HTTPServer, elsewhere: HTTPServer, monkeypatch: pytest.MonkeyPatch
):
    from rapport.sources.http import HttpClient, RedirectError

    monkeypatch.setenv("RAPPORT_ALLOW_PRIVATE_INSTANCES", "true")  # both servers are local
    elsewhere.expect_request("/landing").respond_with_json({"id": "1"})
    httpserver.expect_request("/api/v1/accounts/lookup").respond_with_response(
        ServerResponse(status=302, headers={"Location": elsewhere.url_for("/landing")})
    )
    with (
        HttpClient(
            httpserver.url_for("/"), platform="mastodon", account="@a@x.example", bearer_token=TOKEN
        ) as client,
        pytest.raises(RedirectError, match="another origin"),
    ):
        client.get("/api/v1/accounts/lookup", {"acct": "a"})

    assert elsewhere.log == []  # not followed at all
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_bluesky_sign_in_redirected_elsewhere_never_sends_the_app_password_there(
    httpserver: HTTPServer, elsewhere: HTTPServer
):
    from rapport.sources.bluesky.client import Credentials, create_session
    from rapport.sources.http import HttpStats

    path = "/xrpc/com.atproto.server.createSession"
    elsewhere.expect_request(path, method="POST").respond_with_json({"accessJwt": "stolen"})
    httpserver.expect_request(path, method="POST").respond_with_response(
        ServerResponse(status=307, headers={"Location": elsewhere.url_for(path)})
    )
    try:
        create_session(
            httpserver.url_for("/").rstrip("/"),
            Credentials("reader.bsky.social", APP_PASSWORD),
            account_id="bluesky:org.bsky.social",
            stats=HttpStats(),
        )
    except Exception as error:  # refusing the redirect is the fix; it must not name the password
        assert APP_PASSWORD not in str(error)
    assert [request.get_data() for request, _ in elsewhere.log] == []
