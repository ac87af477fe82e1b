from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pendulum

from rapport.accounts import Account
from rapport.landing import land_extraction
from rapport.pipeline import plan_extraction, resolve_until, run_date_of
from rapport.settings import get_settings
from rapport.sources import Page, Window

ACCOUNT = Account(organization_id="petit-theatre", platform="demo", handle="@petit_theatre")
NIGHT = datetime(2026, 11, 23, tzinfo=UTC)


def test_the_first_run_of_an_account_backfills_its_history(rapport_home: Path):
    plan = plan_extraction(get_settings(), ACCOUNT, NIGHT)
    assert plan.is_backfill
    assert plan.window == Window(NIGHT - timedelta(weeks=26), NIGHT)


def test_a_later_run_starts_at_the_watermark_less_the_lookback(rapport_home: Path):
    settings = get_settings()
    land_extraction(
        settings.landing_dir,
        ACCOUNT,
        date(2026, 11, 23),
        Window(NIGHT - timedelta(weeks=26), NIGHT),
        NIGHT,
        [Page("accounts/lookup", b"{}")],
    )
    plan = plan_extraction(settings, ACCOUNT, NIGHT + timedelta(days=1))
    assert not plan.is_backfill
    # The public's posts before the watermark were read by the first run: they are read from it.
    assert plan.window == Window(NIGHT - timedelta(days=14), NIGHT + timedelta(days=1), replies_since=NIGHT)


def test_rerunning_a_date_plans_the_same_window_as_its_first_run(rapport_home: Path):
    settings = get_settings()
    first = plan_extraction(settings, ACCOUNT, NIGHT)
    land_extraction(
        settings.landing_dir, ACCOUNT, date(2026, 11, 23), first.window, NIGHT, [Page("x", b"{}")]
    )
    assert plan_extraction(settings, ACCOUNT, NIGHT) == first


def test_an_airflow_logical_date_becomes_a_plain_utc_datetime_and_a_run_date():
    logical = pendulum.datetime(2026, 11, 23, 1, 0, tz="Europe/Paris")
    assert run_date_of(logical) == date(2026, 11, 23)
    plan_until = resolve_until(logical)
    assert type(plan_until) is datetime and plan_until == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
