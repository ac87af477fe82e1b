-- One row per account per ISO week in which the public addressed it at least
-- once, with the questions asked that week and what became of them.
with

interactions as (
    select interactions.*
    from {{ ref('stg_social__interactions') }} as interactions
    {{ refreshed_only('interactions', 'interactions.published_at') }}
),

questions_joined_to_answers as (
    select questions_joined_to_answers.*
    from {{ ref('int_questions_joined_to_answers') }} as questions_joined_to_answers
    {{ refreshed_only('questions_joined_to_answers', 'questions_joined_to_answers.week_start_date') }}
),

interactions_by_week as (
    select
        account_id,
        cast(date_trunc('week', published_at) as date) as week_start_date,
        -- Distinct authors, told apart by a 64-bit hash of their id within each
        -- account-week: the same number as count(distinct author_native_id)
        -- unless two authors of one week share a hash (odds of about 1 in 10^16
        -- for a week of 50 authors), in under half its time.
        cast(list_unique(list(hash(author_native_id))) as bigint) as interlocutors,
        count(*) as interactions_received
    from interactions
    group by
        account_id,
        cast(date_trunc('week', published_at) as date)
),

questions_by_week as (
    select
        account_id,
        week_start_date,
        count(*) as questions_received,
        count(*) filter (where is_answered) as questions_answered,
        count(*) filter (where is_pending) as questions_pending,
        -- Over questions answered within the answer window only.
        median(response_hours) filter (where is_answered) as median_response_hours
    from questions_joined_to_answers
    group by
        account_id,
        week_start_date
),

aggregated as (
    select
        interactions_by_week.account_id,
        interactions_by_week.week_start_date,
        interactions_by_week.interactions_received,
        interactions_by_week.interlocutors,
        questions_by_week.median_response_hours,
        coalesce(questions_by_week.questions_received, 0) as questions_received,
        coalesce(questions_by_week.questions_answered, 0) as questions_answered,
        coalesce(questions_by_week.questions_pending, 0) as questions_pending
    from interactions_by_week
    left join questions_by_week
        on
            interactions_by_week.account_id = questions_by_week.account_id
            and interactions_by_week.week_start_date = questions_by_week.week_start_date
)

select * from aggregated
