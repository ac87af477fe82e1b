with

source_interactions as (
    select * from {{ source('social', 'interactions') }}
),

renamed as (
    select
        cast(platform as varchar) as platform,
        cast(interaction_id as varchar) as interaction_id,
        cast(account_id as varchar) as account_id,
        cast(author_native_id as varchar) as author_native_id,
        cast(author_handle as varchar) as author_handle,
        cast(created_at as timestamp) as published_at,
        cast(interaction_type as varchar) as interaction_type,
        cast(in_reply_to_post_id as varchar) as in_reply_to_post_id,
        cast(text as varchar) as interaction_text,
        cast(language as varchar) as language_code,
        cast(is_question as boolean) as is_question,
        cast(observed_at as timestamp) as observed_at
    from source_interactions
)

select * from renamed
