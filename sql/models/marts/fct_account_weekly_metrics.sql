with

account_weeks as (
    select account_weeks.*
    from {{ ref('int_account_weeks_spined') }} as account_weeks
    {{ refreshed_only('account_weeks', 'account_weeks.week_start_date') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

posts_by_week as (
    select * from {{ ref('int_posts_aggregated_to_weeks') }}
),

interactions_by_week as (
    select * from {{ ref('int_interactions_aggregated_to_weeks') }}
),

snapshots_by_week as (
    select * from {{ ref('int_account_snapshots_matched_to_weeks') }}
),

export_weeks as (
    select * from {{ ref('int_account_weeks_covered_by_exports') }}
),

-- An account read from analytics exports, from the week of its first file on.
export_accounts as (
    select
        account_id,
        min(week_start_date) as first_export_week_start_date
    from export_weeks
    group by account_id
),

joined as (
    select
        account_weeks.account_id,
        accounts.organization_id,
        accounts.platform,
        accounts.size_band,
        account_weeks.week_start_date,
        account_weeks.iso_year,
        account_weeks.iso_week,
        '{{ var("methodology_version") }}' as methodology_version,
        account_weeks.weeks_of_history,
        account_weeks.is_created_in_span,
        accounts.expected_weekly_actions,
        interactions_by_week.median_response_hours,
        snapshots_by_week.account_state,
        snapshots_by_week.moved_to_handle,
        snapshots_by_week.followers_count,
        snapshots_by_week.following_count,
        snapshots_by_week.snapshot_observed_at,
        previous_snapshots_by_week.followers_count as previous_week_followers_count,
        previous_snapshots_by_week.account_state as previous_week_account_state,
        -- A week of the span without a post or an interaction is a true zero.
        coalesce(posts_by_week.actions, 0) as actions,
        coalesce(posts_by_week.original_posts, 0) as original_posts,
        coalesce(posts_by_week.replies, 0) as replies,
        coalesce(posts_by_week.reposts, 0) as reposts,
        coalesce(posts_by_week.quotes, 0) as quotes,
        coalesce(posts_by_week.replies_to_public, 0) as replies_to_public,
        coalesce(posts_by_week.thread_replies, 0) as thread_replies,
        coalesce(posts_by_week.replies_on_others_posts, 0) as replies_on_others_posts,
        coalesce(posts_by_week.reposts_of_others, 0) as reposts_of_others,
        coalesce(posts_by_week.quotes_of_others, 0) as quotes_of_others,
        coalesce(posts_by_week.posts_mentioning_others, 0) as posts_mentioning_others,
        coalesce(posts_by_week.actions_directed_at_others, 0) as actions_directed_at_others,
        coalesce(posts_by_week.own_news_posts, 0) as own_news_posts,
        coalesce(posts_by_week.posts_with_text, 0) as posts_with_text,
        coalesce(posts_by_week.promotional_posts, 0) as promotional_posts,
        -- sum() of integers is a HUGEINT in DuckDB: back to BIGINT.
        coalesce(cast(posts_by_week.media_attachments as bigint), 0) as media_attachments,
        coalesce(cast(posts_by_week.media_with_alt_text as bigint), 0) as media_with_alt_text,
        coalesce(posts_by_week.own_posts, 0) as own_posts,
        coalesce(posts_by_week.accessible_posts, 0) as accessible_posts,
        coalesce(posts_by_week.active_days, 0) as active_days,
        coalesce(posts_by_week.deleted_posts, 0) as deleted_posts,
        coalesce(posts_by_week.threads_with_replies, 0) as threads_with_replies,
        coalesce(posts_by_week.threads_read, 0) as threads_read,
        coalesce(posts_by_week.unresolved_replies, 0) as unresolved_replies,
        coalesce(interactions_by_week.interactions_received, 0) as interactions_received,
        coalesce(interactions_by_week.interlocutors, 0) as interlocutors,
        coalesce(interactions_by_week.questions_received, 0) as questions_received,
        coalesce(interactions_by_week.questions_answered, 0) as questions_answered,
        coalesce(interactions_by_week.questions_pending, 0) as questions_pending,
        -- Read from export files (NULL: a week read from the platform's API). A
        -- week of its span after its last file's is covered by none.
        case
            when export_weeks.account_id is not null then export_weeks.export_days_covered
            when account_weeks.week_start_date >= export_accounts.first_export_week_start_date then 0
        end as export_days_covered,
        export_weeks.export_formats,
        export_weeks.export_format_names,
        export_weeks.components_not_fed as export_components_not_fed
    from account_weeks
    inner join accounts
        on account_weeks.account_id = accounts.account_id
    left join posts_by_week
        on
            account_weeks.account_id = posts_by_week.account_id
            and account_weeks.week_start_date = posts_by_week.week_start_date
    left join interactions_by_week
        on
            account_weeks.account_id = interactions_by_week.account_id
            and account_weeks.week_start_date = interactions_by_week.week_start_date
    left join snapshots_by_week
        on
            account_weeks.account_id = snapshots_by_week.account_id
            and account_weeks.week_start_date = snapshots_by_week.week_start_date
    -- The week before in the account's span (none for its first week).
    left join snapshots_by_week as previous_snapshots_by_week
        on
            account_weeks.account_id = previous_snapshots_by_week.account_id
            and account_weeks.week_start_date - 7 = previous_snapshots_by_week.week_start_date
    left join export_weeks
        on
            account_weeks.account_id = export_weeks.account_id
            and account_weeks.week_start_date = export_weeks.week_start_date
    left join export_accounts
        on account_weeks.account_id = export_accounts.account_id
),

-- Each rate is NULL when its denominator is 0: undefined, not 0 or 1.
rates_computed as (
    select
        * exclude (previous_week_followers_count, previous_week_account_state),
        actions > 0 as is_active_week,
        questions_received - questions_pending as questions_decided,
        cast(questions_answered as double)
        / nullif(questions_received - questions_pending, 0) as answered_question_share,
        cast(replies_to_public as double) / nullif(actions, 0) as reply_share,
        -- Dialogue: every reply to someone else, asked or not (methodology 0.2),
        -- an unresolved reply too: to the public or on others' posts, it is dialogue.
        replies_to_public + replies_on_others_posts + unresolved_replies as dialogue_replies,
        cast(replies_to_public + replies_on_others_posts + unresolved_replies as double)
        / nullif(actions, 0) as dialogue_share,
        cast(own_news_posts as double) / nullif(original_posts, 0) as own_news_share,
        -- An unresolved reply may be directed at others or answer the public:
        -- left out of this share (methodology, Coverage).
        cast(actions_directed_at_others as double)
        / nullif(actions - unresolved_replies, 0) as directed_at_others_share,
        cast(posts_with_text - promotional_posts as double)
        / nullif(posts_with_text, 0) as non_promotional_share,
        cast(actions as double) / nullif(expected_weekly_actions, 0) as effort_ratio,
        cast(media_with_alt_text as double) / nullif(media_attachments, 0) as alt_text_share,
        cast(accessible_posts as double) / nullif(own_posts, 0) as accessibility_share,
        -- Only between two weeks of a live account: a suspension (no counts) or a move
        -- (the followers go to the new account) is a state, not a collapse.
        case
            when account_state = 'active' and previous_week_account_state = 'active'
                then followers_count - previous_week_followers_count
        end as followers_change,
        -- What the week's scores did not see: threads the public replied to
        -- whose replies are not read yet (NULL coverage: no thread had replies).
        threads_with_replies - threads_read as unread_threads,
        cast(threads_read as double) / nullif(threads_with_replies, 0) as thread_coverage
    from joined
)

select * from rates_computed
