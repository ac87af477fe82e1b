"""The run summary's list of accounts whose scores are a state, not a collapse (rapport.summary)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from rapport.summary import inactive_accounts

_ACCOUNTS = """
create schema marts;
create table marts.dim_accounts (
    account_id varchar, platform varchar, instance varchar, account_state varchar, moved_to_handle varchar,
    state_observed_since timestamp, is_unreachable boolean, last_observed_at timestamp
);
insert into marts.dim_accounts values
    ('mastodon:@live@social.example', 'mastodon', 'social.example', 'active', null,
        '2026-06-01', false, '2026-11-23'),
    ('mastodon:@gone@social.example', 'mastodon', 'social.example', 'suspended', null,
        '2026-11-16', false, '2026-11-23'),
    ('mastodon:@quiet@social.example', 'mastodon', 'social.example', 'active', null,
        '2026-06-01', true, '2026-11-16'),
    ('bluesky:new.bsky.social', 'bluesky', null, null, null, null, true, null),
    ('mastodon:@left@social.example', 'mastodon', 'social.example', 'moved', '@left@elsewhere.example',
        '2026-11-02', true, '2026-11-09');
"""


def test_the_run_summary_names_an_account_the_latest_run_did_not_reach_with_its_last_observation(
    tmp_path: Path,
):
    warehouse = tmp_path / "warehouse.duckdb"
    connection = duckdb.connect(str(warehouse))
    connection.execute(_ACCOUNTS)
    connection.close()
    assert inactive_accounts(warehouse) == [
        "bluesky:new.bsky.social: not reached by the latest run, never observed",
        "mastodon:@gone@social.example: suspended on social.example since 2026-11-16",
        "mastodon:@left@social.example: moved to @left@elsewhere.example since 2026-11-02; "
        "not reached by the latest run, last observed 2026-11-09",
        "mastodon:@quiet@social.example: not reached by the latest run, last observed 2026-11-16",
    ]
