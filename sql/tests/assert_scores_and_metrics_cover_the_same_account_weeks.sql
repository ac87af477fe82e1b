-- The scores and the weekly metrics have exactly the same account weeks as the
-- spine: no week dropped or added on the way. Returns the unmatched rows.
with

account_weeks as (
    select * from {{ ref('int_account_weeks_spined') }}
),

weekly_metrics as (
    select * from {{ ref('fct_account_weekly_metrics') }}
),

scores as (
    select * from {{ ref('fct_relationship_scores') }}
),

unmatched as (
    select
        coalesce(account_weeks.account_id, weekly_metrics.account_id, scores.account_id) as account_id,
        coalesce(account_weeks.week_start_date, weekly_metrics.week_start_date, scores.week_start_date)
            as week_start_date,
        account_weeks.account_id is not null as is_in_spine,
        weekly_metrics.account_id is not null as is_in_metrics,
        scores.account_id is not null as is_in_scores
    from account_weeks
    full outer join weekly_metrics
        on
            account_weeks.account_id = weekly_metrics.account_id
            and account_weeks.week_start_date = weekly_metrics.week_start_date
    full outer join scores
        on
            coalesce(account_weeks.account_id, weekly_metrics.account_id) = scores.account_id
            and coalesce(account_weeks.week_start_date, weekly_metrics.week_start_date)
            = scores.week_start_date
    where
        account_weeks.account_id is null
        or weekly_metrics.account_id is null
        or scores.account_id is null
)

select * from unmatched
