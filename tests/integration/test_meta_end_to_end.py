"""A Facebook Page and an Instagram account of one organization, scored through the DAG.

Both are conversations of the test world (tests/platforms/world.py), served by the local Graph
API (tests/platforms/graph_server.py): the Page's posts and their comment streams, and the
Instagram professional account linked to the Page, read with the organization's one Page token.
`airflow dags test` runs two nights: the first backfills, the second reads the thread ledger's
backlog; a third night with nothing new costs the lookups and one listing only. The server counts
every call, answers throttling codes past its budget (none must reach a run), and the token is
searched for in every file, log and table Rapport and Airflow wrote.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.integration.conftest import airflow, airflow_environment, query, rapport_environment
from tests.platforms.graph_server import GraphServer, Token, instagram_from_world, pages_from_world
from tests.platforms.world import World

pytestmark = pytest.mark.slow

FIRST_NIGHT = datetime(2026, 11, 23, tzinfo=UTC)
TOKEN = "EAAGm0PX4ZCpsBA-meta-end-to-end-LEAKCHECK-7f3a"
PAGE = "facebook:org001"
INSTAGRAM = "instagram:org002"
REGISTRY = """\
organizations:
  - id: city
    name: City of Examples
    peer_group: test
    size_band: medium
    language: en
    accounts:
      - platform: facebook
        handle: org001
      - platform: instagram
        handle: org002
"""


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(accounts=2, weeks=8, until=FIRST_NIGHT, seed=17)


@pytest.fixture(scope="module")
def nights(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Two nights through `airflow dags test`; the Graph server's calls of each night by account."""
    root = tmp_path_factory.mktemp("meta")
    (root / "rapport" / "config").mkdir(parents=True)
    (root / "rapport" / "config" / "accounts.yml").write_text(REGISTRY)
    [page] = pages_from_world(world, ["org001"])
    instagram_from_world(world, "org002", page)
    with GraphServer([page], tokens={TOKEN: Token(page.page_id)}) as graph:
        environment = airflow_environment(
            root, RAPPORT_GRAPH_BASE_URL=graph.url, RAPPORT_META_TOKEN_CITY=TOKEN
        )
        calls, outputs = [], []
        for night in (FIRST_NIGHT, FIRST_NIGHT + timedelta(days=1)):
            before = len(graph.log)
            completed = airflow(environment, "dags", "test", "rapport_nightly", night.date().isoformat())
            outputs.append(completed.stdout + completed.stderr)
            calls.append(len(graph.log) - before)
        yield {
            "root": root,
            "home": Path(environment["RAPPORT_HOME"]),
            "graph": graph,
            "calls": calls,
            "outputs": outputs,
        }


def test_a_page_and_an_instagram_account_of_one_organization_are_scored(nights: dict):
    warehouse = nights["home"] / "data" / "warehouse.duckdb"
    scored = query(
        warehouse,
        "select platform, count(*), count(trust_score), count(openness_score) "
        "from marts.fct_relationship_scores where organization_id = 'city' group by 1 order by 1",
    )
    assert {platform for platform, *_ in scored} == {"facebook", "instagram"}
    for platform, weeks, trust, openness in scored:
        assert weeks >= 8 and trust > 0 and openness > 0, platform


def test_their_own_replies_give_each_an_answer_rate_and_a_response_time(nights: dict):
    warehouse = nights["home"] / "data" / "warehouse.duckdb"
    for account_id in (PAGE, INSTAGRAM):
        received, answered, timed = query(
            warehouse,
            "select sum(questions_received), sum(questions_answered), count(median_response_hours) "
            "from marts.fct_account_weekly_metrics where account_id = ?",
            [account_id],
        )[0]
        assert received > 0 and 0 < answered <= received and timed > 0, account_id


def test_no_run_receives_a_throttling_code_and_a_quiet_night_costs_little(nights: dict):
    from rapport import pipeline

    graph: GraphServer = nights["graph"]
    assert graph.answered(4, 17, 32, 613, 80001, 80002) == []
    assert all(not call.token_in_url for call in graph.log)
    first, second = nights["calls"]
    before = len(graph.log)
    with rapport_environment(nights["home"], RAPPORT_GRAPH_BASE_URL=graph.url, RAPPORT_META_TOKEN_CITY=TOKEN):
        quiet = {
            account_id: pipeline.extract_account(account_id, FIRST_NIGHT + timedelta(days=2))["requests"]
            for account_id in (PAGE, INSTAGRAM)
        }
    print(f"\nGraph calls: first night {first}, second night {second}, nothing new {quiet} (per account)")
    assert sum(quiet.values()) == len(graph.log) - before
    assert first > sum(quiet.values()) and all(requests <= 4 for requests in quiet.values())


def _texts(path: Path) -> Iterator[str]:
    """Every text a file holds: as bytes, decompressed, or its tables' rows (DuckDB, Parquet)."""
    data = path.read_bytes()
    yield data.decode("utf-8", "replace")
    if path.suffix == ".gz":
        yield gzip.decompress(data).decode("utf-8", "replace")
    if path.suffix in (".duckdb", ".parquet"):
        connection = duckdb.connect()
        try:
            if path.suffix == ".parquet":
                yield str(connection.execute(f"select * from read_parquet('{path}')").fetchall())
            else:
                connection.execute(f"attach '{path}' as searched (read_only)")
                tables = connection.execute(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_catalog = 'searched'"
                ).fetchall()
                for schema, table in tables:
                    yield str(connection.execute(f'select * from searched."{schema}"."{table}"').fetchall())
        finally:
            connection.close()


def test_the_token_is_found_in_no_file_log_or_table(nights: dict):
    forms = (TOKEN, base64.b64encode(TOKEN.encode()).decode(), TOKEN[8:32])
    for output in nights["outputs"]:
        assert not any(form in output for form in forms)
    searched = 0
    for path in sorted(nights["root"].rglob("*")):
        if path.is_file() and not path.name.endswith((".lock", ".wal")):
            searched += 1
            for text in _texts(path):
                assert not any(form in text for form in forms), path
    assert searched > 50
