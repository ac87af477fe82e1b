-- One row per account per ISO week in which it published at least one post
-- (deleted or not). Counts are by publish week; deleted posts only count in
-- deleted_posts.
with

posts_classified as (
    select posts_classified.*
    from {{ ref('int_posts_classified') }} as posts_classified
    {{ refreshed_only('posts_classified', 'posts_classified.week_start_date') }}
),

aggregated as (
    select
        account_id,
        week_start_date,
        count(*) filter (where not is_deleted) as actions,
        count(*) filter (where not is_deleted and post_type = 'original') as original_posts,
        count(*) filter (where not is_deleted and post_type = 'reply') as replies,
        count(*) filter (where not is_deleted and post_type = 'repost') as reposts,
        count(*) filter (where not is_deleted and post_type = 'quote') as quotes,
        count(*) filter (where not is_deleted and action_kind = 'reply_to_public') as replies_to_public,
        count(*) filter (where not is_deleted and action_kind = 'thread_reply') as thread_replies,
        count(*) filter (
            where not is_deleted and action_kind = 'reply_on_others_post'
        ) as replies_on_others_posts,
        count(*) filter (where not is_deleted and action_kind = 'repost_of_others') as reposts_of_others,
        count(*) filter (where not is_deleted and action_kind = 'quote_of_others') as quotes_of_others,
        count(*) filter (where not is_deleted and is_mentioning_others) as posts_mentioning_others,
        count(*) filter (where not is_deleted and is_directed_at_others) as actions_directed_at_others,
        count(*) filter (where not is_deleted and is_own_news) as own_news_posts,
        count(*) filter (where not is_deleted and has_own_text) as posts_with_text,
        count(*) filter (where not is_deleted and is_promotional) as promotional_posts,
        coalesce(sum(media_attachments) filter (where not is_deleted), 0) as media_attachments,
        coalesce(sum(media_with_alt_text) filter (where not is_deleted), 0) as media_with_alt_text,
        -- Accessibility: the organization's own posts (a repost's media are its
        -- author's) whose media are all described; a post without media is accessible.
        count(*) filter (
            where not is_deleted and post_type != 'repost' and (has_own_text or media_attachments > 0)
        ) as own_posts,
        count(*) filter (
            where
            not is_deleted and post_type != 'repost' and (has_own_text or media_attachments > 0)
            and media_with_alt_text >= media_attachments
        ) as accessible_posts,
        -- Distinct dates, counted as the bits set by the days of the week
        -- (Monday = 1): the same number as count(distinct published_date)
        -- within one ISO week, without a distinct aggregate over every post.
        coalesce(cast(bit_count(
            bit_or(1 << (isodow(published_date) - 1)) filter (where not is_deleted)
        ) as bigint), 0) as active_days,
        count(*) filter (where is_deleted) as deleted_posts,
        -- Thread coverage: its posts the public replied to, and of those the
        -- ones whose thread was read (the replies, questions and answers in
        -- an unread thread are not in the warehouse yet).
        count(*) filter (where not is_deleted and has_replies) as threads_with_replies,
        count(*) filter (where not is_deleted and has_replies and is_thread_read) as threads_read
    from posts_classified
    group by
        account_id,
        week_start_date
),

-- A reply on a post that is neither its own nor a known interaction, in a
-- week with unread threads, may answer the public inside a thread not read
-- yet: an unresolved reply (docs/methodology.md, Coverage). It stays dialogue,
-- but is never counted as a reply on others' posts (nor as directed at others).
unresolved_replies_counted as (
    select
        *,
        case when threads_read < threads_with_replies then replies_on_others_posts else 0 end
            as unresolved_replies
    from aggregated
),

replies_resolved as (
    select
        * replace (
            replies_on_others_posts - unresolved_replies as replies_on_others_posts,
            actions_directed_at_others - unresolved_replies as actions_directed_at_others
        )
    from unresolved_replies_counted
)

select * from replies_resolved
