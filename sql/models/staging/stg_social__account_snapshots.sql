with

source_account_snapshots as (
    select * from {{ source('social', 'account_snapshots') }}
),

renamed as (
    select
        cast(account_id as varchar) as account_id,
        cast(observed_at as timestamp) as observed_at,
        cast(platform as varchar) as platform,
        cast(account_native_id as varchar) as account_native_id,
        cast(handle as varchar) as handle,
        cast(display_name as varchar) as display_name,
        cast(followers_count as bigint) as followers_count,
        cast(following_count as bigint) as following_count,
        cast(posts_count as bigint) as posts_count,
        cast(account_created_at as timestamp) as account_created_at,
        cast(account_state as varchar) as account_state,
        cast(moved_to_handle as varchar) as moved_to_handle
    from source_account_snapshots
)

select * from renamed
