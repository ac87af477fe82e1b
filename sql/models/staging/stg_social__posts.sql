with

source_posts as (
    select * from {{ source('social', 'posts') }}
),

renamed as (
    select
        cast(platform as varchar) as platform,
        cast(post_id as varchar) as post_id,
        cast(account_id as varchar) as account_id,
        cast(created_at as timestamp) as published_at,
        cast(post_type as varchar) as post_type,
        cast(text as varchar) as post_text,
        cast(language as varchar) as language_code,
        cast(in_reply_to_post_id as varchar) as in_reply_to_post_id,
        cast(in_reply_to_account_native_id as varchar) as in_reply_to_account_native_id,
        cast(is_reply_to_self as boolean) as is_reply_to_self,
        cast(reposted_post_id as varchar) as reposted_post_id,
        cast(reposted_account_native_id as varchar) as reposted_account_native_id,
        cast(mention_count as integer) as mention_count,
        cast(link_count as integer) as link_count,
        cast(media_count as integer) as media_count,
        cast(media_with_alt_text_count as integer) as media_with_alt_text_count,
        cast(reply_count as bigint) as reply_count,
        cast(repost_count as bigint) as repost_count,
        cast(like_count as bigint) as like_count,
        cast(edited_at as timestamp) as edited_at,
        cast(is_deleted as boolean) as is_deleted,
        cast(first_observed_at as timestamp) as first_observed_at,
        cast(observed_at as timestamp) as observed_at
    from source_posts
)

select * from renamed
