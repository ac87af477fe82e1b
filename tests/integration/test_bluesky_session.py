"""One Bluesky sign-in for a whole run of 52 accounts spread over four task processes.

Airflow runs the extraction as separate task processes, each a batch of
accounts (``pipeline.extract_accounts``). Here four batches of 13 run at once,
each in a process of its own, against the local Bluesky server acting as the
PDS, which allows 30 sign-ins per 5 minutes: signing in once per account
would be refused past the 30th. The server counts every sign-in.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rapport import zones
from tests.conftest import PROJECT_ROOT
from tests.integration.test_real_platforms import registry_yaml
from tests.platforms.bluesky_server import CREATE_SESSION, REFRESH_SESSION, BlueskyServer
from tests.platforms.world import World

pytestmark = pytest.mark.slow

NIGHT = datetime(2026, 11, 23, tzinfo=UTC)
ACCOUNTS = 52
PROCESSES = 4
BOT = "rapport-bot.bsky.social"
PASSWORD = "abcd-efgh-ijkl-mnop"


def test_four_task_processes_extracting_52_accounts_sign_in_once(tmp_path: Path) -> None:
    world = World.generate(accounts=ACCOUNTS, weeks=2, until=NIGHT, seed=0)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "accounts.yml").write_text(
        registry_yaml([], [f"org{number:03d}" for number in range(1, ACCOUNTS + 1)]), encoding="utf-8"
    )
    account_ids = [f"bluesky:org{number:03d}.bsky.social" for number in range(1, ACCOUNTS + 1)]
    batches = [account_ids[index::PROCESSES] for index in range(PROCESSES)]
    with BlueskyServer(world, app_passwords={BOT: PASSWORD}) as pds:
        environment = {
            name: value for name, value in os.environ.items() if not name.startswith(("RAPPORT_", "AIRFLOW"))
        } | {
            "RAPPORT_HOME": str(tmp_path),
            "RAPPORT_HISTORY_WEEKS": "2",
            "RAPPORT_ALLOW_PRIVATE_INSTANCES": "true",
            "RAPPORT_BLUESKY_BASE_URL": "http://127.0.0.1:9",  # closed: every read goes to the PDS
            "RAPPORT_BLUESKY_PDS_URL": pds.url,
            "RAPPORT_BLUESKY_HANDLE": BOT,
            "RAPPORT_BLUESKY_APP_PASSWORD": PASSWORD,
            "RAPPORT_BLUESKY_THREAD_BUDGET": "2",
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        tasks = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import sys; from datetime import datetime; from rapport import pipeline; "
                    "print(len(pipeline.extract_accounts(sys.argv[2:], datetime.fromisoformat(sys.argv[1]))))",
                    NIGHT.isoformat(),
                    *batch,
                ],
                env=environment,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for batch in batches
        ]
        outputs = []
        for task in tasks:
            try:
                output, _ = task.communicate(timeout=180)
            except subprocess.TimeoutExpired:
                for other in tasks:
                    other.kill()
                raise
            outputs.append(output)
            assert task.returncode == 0, output[-3000:]
        assert pds.pds is not None
        sign_ins = [request.status for request in pds.requests if request.endpoint == CREATE_SESSION]
        issued = list(pds.pds.issued)
        reads = [
            request for request in pds.requests if request.endpoint not in (CREATE_SESSION, REFRESH_SESSION)
        ]

    assert sign_ins == [200]  # one sign-in for the whole run, not one per account
    assert pds.pds.sign_ins == [BOT]
    assert len({request.account for request in reads}) == ACCOUNTS
    assert {request.status for request in reads} == {200}
    assert [output.strip().splitlines()[-1] for output in outputs] == [str(len(batch)) for batch in batches]
    # The tokens are in the private session file only: not in what was landed, nor in the tasks' output.
    session_file = zones.session_state_file(tmp_path / "data", "bluesky")
    assert session_file.stat().st_mode & 0o077 == 0
    landed = [path for path in (tmp_path / "data" / "landing").rglob("*") if path.is_file()]
    assert len([path for path in landed if path.name == "manifest.json"]) == ACCOUNTS
    texts = [*outputs]
    for path in landed:
        data = path.read_bytes()
        texts.append((gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", "replace"))
    for token in issued:
        assert all(token not in text for text in texts)
