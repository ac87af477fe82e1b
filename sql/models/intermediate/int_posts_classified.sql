{#- Both languages' lists apply to every post: a post's language is often unknown. -#}
{%- set own_news_keywords = var('own_news_keywords_en') + var('own_news_keywords_fr') -%}
{%- set promotional_keywords = var('promotional_keywords_en') + var('promotional_keywords_fr') -%}

-- One row per post of a registered account, classified by what the action does
-- in the relationship (action_kind) and by keyword heuristics (own news,
-- promotional). Deleted posts are kept here, flagged, and left out downstream.
with

-- Read twice below: not materialized, DuckDB would copy every post first.
posts as not materialized (
    select posts.*
    from {{ ref('stg_social__posts') }} as posts
    {{ refreshed_only('posts', 'posts.published_at') }}
),

interactions as (
    select * from {{ ref('stg_social__interactions') }}
),

account_snapshots as (
    select * from {{ ref('stg_social__account_snapshots') }}
),

thread_reads as (
    select * from {{ ref('stg_social__thread_reads') }}
),

account_native_ids as (
    select
        account_id,
        arg_max(account_native_id, observed_at) as account_native_id
    from account_snapshots
    group by account_id
),

-- The organization's replies to a post the public addressed to it. Found
-- among the replies first: joining every post to every interaction cost a
-- hash table of all posts, 4 times the time.
replies_to_public as (
    select
        posts.platform,
        posts.account_id,
        posts.post_id
    from posts
    where
        posts.post_type = 'reply'
        and exists (
            select interactions.interaction_id
            from interactions
            where
                posts.platform = interactions.platform
                and posts.account_id = interactions.account_id
                and posts.in_reply_to_post_id = interactions.interaction_id
        )
),

posts_with_context as (
    select
        posts.*,
        account_native_ids.account_native_id,
        replies_to_public.post_id is not null as is_answer_to_public_post,
        -- Its thread was read since its replies were last counted
        -- (stg_social__thread_reads): a later read, or one that saw as many replies.
        coalesce(
            thread_reads.read_at > posts.observed_at
            or thread_reads.reply_count_at_read >= posts.reply_count,
            false
        ) as is_thread_read,
        -- Keywords are matched on the organization's own words: links (their
        -- paths often hold words) and @mentions (handles) are blanked first.
        -- The search for links and handles runs only on the texts that may hold one.
        case
            when
                contains(posts.post_text, '@')
                or contains(posts.post_text, '://')
                or contains(posts.post_text, 'www.')
                then regexp_replace(
                    posts.post_text, '(https?://|www\.)[^[:space:]]+|@[[:alnum:]_.@-]+', ' ', 'g'
                )
            else posts.post_text
        end as own_words
    from posts
    left join account_native_ids
        on posts.account_id = account_native_ids.account_id
    left join replies_to_public
        on
            posts.platform = replies_to_public.platform
            and posts.account_id = replies_to_public.account_id
            and posts.post_id = replies_to_public.post_id
    left join thread_reads
        on
            posts.platform = thread_reads.platform
            and posts.account_id = thread_reads.account_id
            and posts.post_id = thread_reads.post_id
),

-- Accents stripped once for both lists of keywords, and only from the texts
-- that have any: a text of as many bytes as characters is plain ASCII.
-- Stripping every text cost more than both searches.
keywords_prepared as (
    select
        *,
        case
            when strlen(own_words) = length(own_words) then own_words
            else strip_accents(own_words)
        end as keyword_text
    from posts_with_context
),

kinds_assigned as (
    select
        *,
        case
            when post_type = 'reply' and is_answer_to_public_post then 'reply_to_public'
            when
                post_type = 'reply'
                and (is_reply_to_self or in_reply_to_account_native_id = account_native_id)
                then 'thread_reply'
            when post_type = 'reply' then 'reply_on_others_post'
            when post_type = 'repost' and reposted_account_native_id = account_native_id then 'repost_of_own'
            when post_type = 'repost' then 'repost_of_others'
            when post_type = 'quote' and reposted_account_native_id = account_native_id then 'quote_of_own'
            when post_type = 'quote' then 'quote_of_others'
            else 'original'
        end as action_kind,
        post_type in ('original', 'reply', 'quote') and coalesce(trim(post_text), '') != '' as has_own_text,
        -- Words are searched only where they count (the search is the model's
        -- biggest cost): own news in originals, promotion in the organization's own words.
        case
            when post_type = 'original'
                then coalesce({{ matches_keywords('keyword_text', own_news_keywords) }}, false)
            else false
        end as is_matching_own_news_keywords,
        case
            when post_type in ('original', 'reply', 'quote')
                then coalesce({{ matches_keywords('keyword_text', promotional_keywords) }}, false)
            else false
        end as is_matching_promotional_keywords
    from keywords_prepared
),

classified as (
    select
        platform,
        post_id,
        account_id,
        published_at,
        cast(published_at as date) as published_date,
        -- Publish week: an action counts in the ISO week it was published.
        cast(date_trunc('week', published_at) as date) as week_start_date,
        post_type,
        action_kind,
        in_reply_to_post_id,
        mention_count,
        is_deleted,
        has_own_text,
        is_thread_read,
        -- A thread the public replied to: its replies are read through the
        -- thread (a repost's replies belong to the post it reposts).
        post_type != 'repost' and coalesce(reply_count, 0) > 0 as has_replies,
        action_kind = 'reply_to_public' as is_reply_to_public,
        -- Replies mention their addressee automatically on some platforms and a
        -- repost carries the mentions of the post reposted: a mention counts
        -- only on the organization's own words that address no one else.
        action_kind in ('original', 'thread_reply', 'quote_of_own')
        and mention_count > 0 as is_mentioning_others,
        action_kind in ('reply_on_others_post', 'repost_of_others', 'quote_of_others')
        or (
            action_kind in ('original', 'thread_reply', 'quote_of_own')
            and mention_count > 0
        ) as is_directed_at_others,
        -- A post that sells is not news about the organization, whatever its words.
        post_type = 'original'
        and is_matching_own_news_keywords
        and not is_matching_promotional_keywords as is_own_news,
        has_own_text and is_matching_promotional_keywords as is_promotional,
        -- A repost's media are the reposted author's, not the organization's.
        case when post_type = 'repost' then 0 else media_count end as media_attachments,
        case when post_type = 'repost' then 0 else media_with_alt_text_count end as media_with_alt_text
    from kinds_assigned
)

select * from classified
