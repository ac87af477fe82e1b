with

source_export_files as (
    select * from {{ source('social', 'export_files') }}
),

renamed as (
    select
        cast(platform as varchar) as platform,
        cast(account_id as varchar) as account_id,
        cast(export_format as varchar) as export_format,
        cast(file_name as varchar) as file_name,
        cast(file_sha256 as varchar) as file_sha256,
        cast(covers_since as timestamp) as covers_since,
        cast(covers_until as timestamp) as covers_until,
        cast(posts_listed as bigint) as posts_listed,
        cast(follower_days as bigint) as follower_days,
        cast(observed_at as timestamp) as observed_at,
        cast(first_observed_at as timestamp) as first_observed_at
    from source_export_files
)

select * from renamed
