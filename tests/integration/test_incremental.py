"""dbt's incremental models: nightly runs recompute only the weeks new data touches, and agree with a full rebuild."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from rapport.settings import get_settings
from tests.integration.conftest import DEMO_UNTIL, demo_home_at, query, rapport_environment, run_pipeline

pytestmark = pytest.mark.slow

INCREMENTAL_MODELS = {
    "intermediate": [
        "int_posts_classified",
        "int_questions_joined_to_answers",
        "int_posts_aggregated_to_weeks",
        "int_interactions_aggregated_to_weeks",
    ],
    # fct_score_changes is a view of the two (ADR 0013): compared too.
    "marts": ["fct_account_weekly_metrics", "fct_relationship_scores", "fct_score_changes"],
}


def contents(warehouse: Path) -> dict[str, list[tuple]]:
    return {
        f"{schema}.{model}": query(warehouse, f"select * from {schema}.{model} order by all")
        for schema, models in INCREMENTAL_MODELS.items()
        for model in models
    }


@pytest.fixture(scope="module")
def nightly_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo's 26 weeks, then two nightly runs: the next day and a week later."""
    with rapport_environment(demo_home_at(tmp_path_factory.mktemp("incremental-home"))) as home:
        run_pipeline(DEMO_UNTIL)
        yield home


def test_nightly_runs_recompute_only_the_weeks_their_data_touches(nightly_home: Path):
    warehouse = nightly_home / "data" / "warehouse.duckdb"
    # Mark an old week: a nightly run must leave it as it is (it is not recomputed).
    old_week = query(warehouse, "select min(week_start_date) from marts.fct_relationship_scores")[0][0]
    _execute(
        warehouse,
        "update marts.fct_relationship_scores set score_notes = concat(score_notes, '#untouched') "
        "where week_start_date = ?",
        [old_week],
    )
    run_pipeline(DEMO_UNTIL + timedelta(days=1))
    assert (
        query(
            warehouse,
            "select count(*) from marts.fct_relationship_scores where score_notes like '%#untouched'",
        )[0][0]
        == 7
    )  # the seven accounts that existed that week
    # The week the new day falls in was added, for every account.
    latest = query(warehouse, "select max(week_start_date) from marts.fct_relationship_scores")[0][0]
    assert latest == (DEMO_UNTIL - timedelta(days=7)).date()
    _execute(
        warehouse,
        "update marts.fct_relationship_scores "
        "set score_notes = nullif(replace(score_notes, '#untouched', ''), '') where score_notes like '%#untouched'",
    )


def test_nightly_runs_give_the_marts_a_full_rebuild_gives(nightly_home: Path):
    from rapport.transform import build_models

    warehouse = nightly_home / "data" / "warehouse.duckdb"
    for days in (8, 9):
        run_pipeline(DEMO_UNTIL + timedelta(days=days))
    incremental = contents(warehouse)
    build_models(get_settings(), "--full-refresh")
    rebuilt = contents(warehouse)
    for model, rows in rebuilt.items():
        assert incremental[model] == rows, f"{model} differs from its full rebuild"
    assert len(rebuilt["marts.fct_relationship_scores"]) > 195  # new weeks were scored


def test_a_changed_weight_rescores_every_week_at_the_next_build(nightly_home: Path):
    from rapport.transform import build_models

    warehouse = nightly_home / "data" / "warehouse.duckdb"
    only_trust = (
        '{"overall_weight_trust": 1, "overall_weight_openness": 0, "overall_weight_involvement": 0, '
        '"overall_weight_investment": 0, "overall_weight_commitment": 0}'
    )
    build_models(get_settings(), "--vars", only_trust)
    differing = query(
        warehouse,
        "select count(*) from marts.fct_relationship_scores "
        "where trust_score is not null and overall_score is distinct from trust_score",
    )[0][0]
    assert differing == 0
    build_models(get_settings())  # back to the project's weights: every week again
    assert (
        query(
            warehouse,
            "select count(*) from marts.fct_relationship_scores where overall_score is distinct from trust_score",
        )[0][0]
        > 0
    )


def test_a_nightly_build_tests_the_rows_it_wrote_and_not_the_history(nightly_home: Path):
    """ADR 0006: a duplicate in the history is not read again at night; a duplicate in the rows
    a night writes fails its build; a full rebuild reads every row again."""
    from rapport.transform import TransformError, build_models

    warehouse = nightly_home / "data" / "warehouse.duckdb"
    [(oldest,)] = query(warehouse, "select post_id from raw.posts order by created_at limit 1")
    [(newest,)] = query(warehouse, "select post_id from raw.posts order by created_at desc limit 1")
    _copy_post(warehouse, oldest)
    run_pipeline(DEMO_UNTIL + timedelta(days=10))  # passes: the old duplicate is not read

    _copy_post(warehouse, newest)
    with pytest.raises(TransformError, match=r"unique_combination_of_columns_\w*posts"):
        run_pipeline(DEMO_UNTIL + timedelta(days=11))
    _remove_copy(warehouse, newest)

    with pytest.raises(TransformError, match="unique_combination_of_columns_stg_social__posts"):
        build_models(get_settings(), "--full-refresh")
    _remove_copy(warehouse, oldest)
    build_models(get_settings(), "--full-refresh")


def _copy_post(warehouse: Path, post_id: str) -> None:
    _execute(warehouse, "insert into raw.posts select * from raw.posts where post_id = ?", [post_id])


def _remove_copy(warehouse: Path, post_id: str) -> None:
    _execute(
        warehouse,
        "delete from raw.posts where rowid = (select max(rowid) from raw.posts where post_id = ?)",
        [post_id],
    )


def _execute(warehouse: Path, sql: str, parameters: list | None = None) -> None:
    import duckdb

    connection = duckdb.connect(str(warehouse))
    try:
        connection.execute(sql, parameters or [])
    finally:
        connection.close()
