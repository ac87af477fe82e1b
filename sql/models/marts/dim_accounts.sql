with

accounts as (
    select * from {{ ref('stg_social__accounts') }}
),

organizations as (
    select * from {{ ref('dim_organizations') }}
),

account_snapshots as (
    select * from {{ ref('stg_social__account_snapshots') }}
),

account_weeks as (
    select * from {{ ref('int_account_weeks_spined') }}
),

export_files as (
    select * from {{ ref('stg_social__export_files') }}
),

-- An account read from analytics export files, and how far its files reach.
export_coverage as (
    select
        account_id,
        max(covers_until) as exports_cover_until
    from export_files
    group by account_id
),

-- Each snapshot with the state of the account's snapshot before (NULL for its first).
previous_states as (
    select
        account_id,
        observed_at,
        account_state,
        lag(account_state) over (partition by account_id order by observed_at) as previous_account_state
    from account_snapshots
),

latest_snapshots as (
    select
        account_id,
        max(observed_at) as last_observed_at,
        arg_max(account_native_id, observed_at) as account_native_id,
        arg_max(display_name, observed_at) as display_name,
        -- arg_max_null: a suspended account's NULL is its count, not a reason to show an older one.
        arg_max_null(followers_count, observed_at) as followers_count,
        arg_max(account_state, observed_at) as account_state,
        arg_max_null(moved_to_handle, observed_at) as moved_to_handle,
        min(account_created_at) as account_created_at
    from account_snapshots
    group by account_id
),

-- The latest run: every account a run reaches gets a snapshot at the run's
-- observation time, so the latest snapshot of all is the latest run's.
latest_run as (
    select max(observed_at) as latest_run_observed_at
    from account_snapshots
),

state_starts as (
    select
        account_id,
        max(observed_at) as state_observed_since
    from previous_states
    where previous_account_state is null or account_state != previous_account_state
    group by account_id
),

spans as (
    select
        account_id,
        min(week_start_date) as first_week_start_date,
        max(week_start_date) as last_week_start_date,
        count(*) as weeks_in_span
    from account_weeks
    group by account_id
),

joined as (
    select
        accounts.account_id,
        accounts.organization_id,
        accounts.platform,
        accounts.handle,
        accounts.instance,
        latest_snapshots.account_native_id,
        latest_snapshots.display_name,
        latest_snapshots.account_created_at,
        latest_snapshots.last_observed_at,
        latest_snapshots.followers_count,
        latest_snapshots.account_state,
        latest_snapshots.moved_to_handle,
        state_starts.state_observed_since,
        organizations.organization_name,
        organizations.peer_group,
        organizations.size_band,
        organizations.language_code,
        organizations.expected_weekly_actions,
        spans.first_week_start_date,
        spans.last_week_start_date,
        export_coverage.exports_cover_until,
        coalesce(spans.weeks_in_span, 0) as weeks_in_span,
        export_coverage.account_id is not null as is_read_from_exports,
        -- Not observed by the latest run (never observed included): its state
        -- and counts are as last seen, if ever. An account read from its
        -- export files is not reached by runs: how far its files reach is
        -- exports_cover_until.
        export_coverage.account_id is null
        and coalesce(
            latest_snapshots.last_observed_at < latest_run.latest_run_observed_at,
            latest_run.latest_run_observed_at is not null
        ) as is_unreachable
    from accounts
    left join organizations
        on accounts.organization_id = organizations.organization_id
    left join latest_snapshots
        on accounts.account_id = latest_snapshots.account_id
    left join state_starts
        on accounts.account_id = state_starts.account_id
    left join spans
        on accounts.account_id = spans.account_id
    left join export_coverage
        on accounts.account_id = export_coverage.account_id
    cross join latest_run
)

select * from joined
