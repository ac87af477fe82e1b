-- One row per registered account per ISO week (Monday start) of its span: from
-- the start of the history read (the Monday of its batches' earliest extraction
-- window) or the week its account was created, whichever is later, to the last
-- complete week before its latest snapshot (or the end of its latest export
-- file, for an account read from them). Without a recorded window (batches
-- loaded before windows were), the span starts at its first post or
-- interaction, or at its first snapshot when it has none.
with

accounts as (
    select * from {{ ref('stg_social__accounts') }}
),

account_snapshots as (
    select * from {{ ref('stg_social__account_snapshots') }}
),

load_batches as (
    select * from {{ source('social', 'load_batches') }}
),

export_files as (
    select * from {{ ref('stg_social__export_files') }}
),

-- The weeks of activity, already aggregated: reading them instead of every
-- post and interaction keeps this model's cost to one row per account-week.
posts_by_week as (
    select * from {{ ref('int_posts_aggregated_to_weeks') }}
),

interactions_by_week as (
    select * from {{ ref('int_interactions_aggregated_to_weeks') }}
),

active_weeks as (
    select
        account_id,
        week_start_date
    from posts_by_week
    union all
    select
        account_id,
        week_start_date
    from interactions_by_week
),

first_activities as (
    select
        account_id,
        min(week_start_date) as first_active_week_start_date
    from active_weeks
    group by account_id
),

history_starts as (
    select
        account_id,
        cast(date_trunc('week', min(window_since)) as date) as history_start_week_start_date
    from load_batches
    group by account_id
),

-- What observed an account: its snapshots, and the export files it is read
-- from, observed at the end of the days they cover (a file may give no
-- follower count, hence no snapshot).
observations as (
    select
        account_id,
        observed_at,
        account_created_at
    from account_snapshots
    union all
    select
        account_id,
        covers_until as observed_at,
        null as account_created_at
    from export_files
),

observation_bounds as (
    select
        account_id,
        min(observed_at) as first_observed_at,
        max(observed_at) as last_observed_at,
        min(account_created_at) as account_created_at
    from observations
    group by account_id
),

account_bounds as (
    select
        accounts.account_id,
        observation_bounds.account_created_at,
        observation_bounds.last_observed_at,
        -- least() ignores a NULL: activity found before the history's start
        -- (none is expected) still has its week.
        coalesce(
            least(
                history_starts.history_start_week_start_date,
                first_activities.first_active_week_start_date
            ),
            cast(date_trunc('week', observation_bounds.first_observed_at) as date)
        ) as first_seen_week_start_date
    from accounts
    inner join observation_bounds
        on accounts.account_id = observation_bounds.account_id
    left join first_activities
        on accounts.account_id = first_activities.account_id
    left join history_starts
        on accounts.account_id = history_starts.account_id
),

account_spans as (
    select
        account_id,
        -- A week is complete once its Sunday has ended: the last complete week
        -- starts on the Monday before the one of the latest observation.
        cast(date_trunc('week', last_observed_at) - interval 7 day as date) as last_week_start_date,
        -- greatest() ignores a NULL creation date.
        greatest(
            first_seen_week_start_date,
            cast(date_trunc('week', account_created_at) as date)
        ) as first_week_start_date,
        -- A new account: created within the history read, so its span starts
        -- with it. An account of unknown creation date is not called new.
        coalesce(
            cast(date_trunc('week', account_created_at) as date) >= first_seen_week_start_date, false
        ) as is_created_in_span
    from account_bounds
),

calendar_bounds as (
    select
        min(first_week_start_date) as first_week_start_date,
        max(last_week_start_date) as last_week_start_date
    from account_spans
),

calendar_weeks as (
    select
        cast(
            unnest(
                generate_series(first_week_start_date, last_week_start_date, interval 7 day)
            ) as date
        ) as week_start_date
    from calendar_bounds
),

spined as (
    select
        account_spans.account_id,
        calendar_weeks.week_start_date,
        account_spans.first_week_start_date,
        account_spans.last_week_start_date,
        account_spans.is_created_in_span,
        isoyear(calendar_weeks.week_start_date) as iso_year,
        week(calendar_weeks.week_start_date) as iso_week,
        (calendar_weeks.week_start_date - account_spans.first_week_start_date) // 7 + 1 as weeks_of_history
    from account_spans
    inner join calendar_weeks
        on
            calendar_weeks.week_start_date
            between account_spans.first_week_start_date and account_spans.last_week_start_date
)

select * from spined
