-- Every scored account has one row for every ISO week of its span, without a
-- gap: weeks are Mondays, the last one is the last complete week before its
-- latest snapshot (or the end of its latest export file: greatest() ignores a
-- NULL), the first is not before the week it was created. Returns
-- the accounts that break it.
with

scores as (
    select * from {{ ref('fct_relationship_scores') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

scored_spans as (
    select
        account_id,
        min(week_start_date) as first_week_start_date,
        max(week_start_date) as last_week_start_date,
        count(*) as weeks_scored,
        count(*) filter (where isodow(week_start_date) != 1) as weeks_not_starting_on_monday
    from scores
    group by account_id
),

compared as (
    select
        scored_spans.account_id,
        scored_spans.first_week_start_date,
        scored_spans.last_week_start_date,
        scored_spans.weeks_scored,
        scored_spans.weeks_not_starting_on_monday,
        accounts.last_observed_at,
        accounts.account_created_at,
        cast(
            date_trunc('week', greatest(accounts.last_observed_at, accounts.exports_cover_until))
            - interval 7 day as date
        ) as expected_last_week_start_date,
        cast(date_trunc('week', accounts.account_created_at) as date) as created_week_start_date,
        (scored_spans.last_week_start_date - scored_spans.first_week_start_date) // 7 + 1 as weeks_in_span
    from scored_spans
    left join accounts
        on scored_spans.account_id = accounts.account_id
),

broken_spans as (
    select *
    from compared
    where
        weeks_scored != weeks_in_span
        or weeks_not_starting_on_monday > 0
        or last_week_start_date is distinct from expected_last_week_start_date
        or first_week_start_date < created_week_start_date
)

select * from broken_spans
