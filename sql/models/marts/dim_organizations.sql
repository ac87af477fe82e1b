with

organizations as (
    select * from {{ ref('stg_social__organizations') }}
),

accounts as (
    select * from {{ ref('stg_social__accounts') }}
),

account_counts as (
    select
        organization_id,
        count(*) as registered_accounts
    from accounts
    group by organization_id
),

joined as (
    select
        organizations.organization_id,
        organizations.organization_name,
        organizations.peer_group,
        organizations.size_band,
        organizations.language_code,
        case organizations.size_band
            when 'small' then {{ var('expected_weekly_actions_small') }}
            when 'medium' then {{ var('expected_weekly_actions_medium') }}
            when 'large' then {{ var('expected_weekly_actions_large') }}
        end as expected_weekly_actions,
        coalesce(account_counts.registered_accounts, 0) as registered_accounts
    from organizations
    left join account_counts
        on organizations.organization_id = account_counts.organization_id
)

select * from joined
