-- One row per account per ISO week of its span, with the account's state and
-- counts as last observed by the end of the week (Monday after, 00:00 UTC); NULL
-- before its first snapshot. A count the latest snapshot does not show (a
-- suspended account) stays NULL: never an older count, never 0.
with

account_weeks as (
    select * from {{ ref('int_account_weeks_spined') }}
),

account_snapshots as (
    select * from {{ ref('stg_social__account_snapshots') }}
),

matched as (
    select
        account_weeks.account_id,
        account_weeks.week_start_date,
        max(account_snapshots.observed_at) as snapshot_observed_at,
        -- arg_max_null: arg_max would skip a NULL count and return an older one.
        arg_max_null(account_snapshots.followers_count, account_snapshots.observed_at) as followers_count,
        arg_max_null(account_snapshots.following_count, account_snapshots.observed_at) as following_count,
        arg_max(account_snapshots.account_state, account_snapshots.observed_at) as account_state,
        arg_max_null(account_snapshots.moved_to_handle, account_snapshots.observed_at) as moved_to_handle
    from account_weeks
    left join account_snapshots
        on
            account_weeks.account_id = account_snapshots.account_id
            and account_snapshots.observed_at <= account_weeks.week_start_date + interval 7 day
    group by
        account_weeks.account_id,
        account_weeks.week_start_date
)

select * from matched
