with

source_accounts as (
    select * from {{ source('social', 'accounts') }}
),

renamed as (
    select
        cast(account_id as varchar) as account_id,
        cast(organization_id as varchar) as organization_id,
        cast(platform as varchar) as platform,
        cast(handle as varchar) as handle,
        cast(instance as varchar) as instance
    from source_accounts
)

select * from renamed
