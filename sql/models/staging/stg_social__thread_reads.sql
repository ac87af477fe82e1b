with

source_thread_reads as (
    select * from {{ source('social', 'thread_reads') }}
),

renamed as (
    select
        cast(platform as varchar) as platform,
        cast(account_id as varchar) as account_id,
        cast(post_id as varchar) as post_id,
        cast(reply_count as bigint) as reply_count_at_read,
        cast(observed_at as timestamp) as read_at
    from source_thread_reads
)

select * from renamed
