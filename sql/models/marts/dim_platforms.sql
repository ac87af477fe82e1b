-- One row per platform Rapport reads: how it is named, what a night costs an
-- account there, which counts it does not always show, and how many registered
-- accounts it has. Derived from the platform folders' contracts (raw.platforms).
with

platforms as (
    select * from {{ ref('stg_social__platforms') }}
),

accounts as (
    select * from {{ ref('stg_social__accounts') }}
),

account_counts as (
    select
        platform,
        count(*) as registered_accounts
    from accounts
    group by platform
),

joined as (
    select
        platforms.platform,
        platforms.platform_name,
        platforms.is_simulated,
        platforms.needs_instance,
        platforms.cost_unit,
        platforms.cost_first_run,
        platforms.cost_nightly,
        platforms.cost_nothing_new,
        platforms.cost_example,
        array_to_string(list_sort(platforms.unavailable_columns), ', ') as unavailable_columns,
        coalesce(account_counts.registered_accounts, 0) as registered_accounts
    from platforms
    left join account_counts
        on platforms.platform = account_counts.platform
)

select * from joined
