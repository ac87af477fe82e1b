"""Build the test world's warehouse: 50 accounts served by the local Mastodon and Bluesky servers.

The same first night as ``tests/integration/test_real_platforms.py`` (26 weeks
up to 2026-11-23, through the real connectors and pipeline), in a Rapport home
of its own, for the figures of docs/methodology.md §11::

    .venv/bin/python -m tests.platforms.world_warehouse /tmp/world
    .venv/bin/rapport methodology --warehouse /tmp/world/data/warehouse.duckdb

About a minute and a half on 2 cores. The servers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tests.integration.conftest import rapport_environment
from tests.integration.test_real_platforms import FIRST_NIGHT, registry_yaml, run_night
from tests.platforms.bluesky_server import BlueskyServer
from tests.platforms.mastodon_server import MastodonServer
from tests.platforms.world import World


def build_world_warehouse(home: Path) -> Path:
    """Run the first night of the 50-account world into ``home``; return its warehouse's path."""
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "accounts.yml").write_text(registry_yaml(), encoding="utf-8")
    world = World.generate(accounts=50, weeks=26, until=FIRST_NIGHT, seed=0)
    with (
        MastodonServer(world, rate_limit=300, window_seconds=2) as mastodon,
        BlueskyServer(world, rate_limit=3000, window_seconds=2) as bluesky,
        rapport_environment(
            home, RAPPORT_MASTODON_BASE_URL=mastodon.url, RAPPORT_BLUESKY_BASE_URL=bluesky.url
        ),
    ):
        run_night(FIRST_NIGHT)
    return home / "data" / "warehouse.duckdb"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path, help="An empty folder: the Rapport home to build in.")
    home = parser.parse_args().home
    started = time.monotonic()
    warehouse = build_world_warehouse(home)
    print(f"{warehouse}: built in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
