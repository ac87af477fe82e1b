-- One row per public question (an interaction with is_question) and registered
-- account it is addressed to, joined to that account's first reply to it. A
-- question belongs to the ISO week it was asked in. Its author and text are
-- kept here, read in the one scan of the interactions, for fct_open_questions.
with

interactions as (
    select interactions.*
    from {{ ref('stg_social__interactions') }} as interactions
    {{ refreshed_only('interactions', 'interactions.published_at') }}
),

-- Read from staging, not from int_posts_classified: a reply to a question is
-- a reply to the public by definition, and this model builds alongside the
-- classification instead of after it.
posts as (
    select posts.*
    from {{ ref('stg_social__posts') }} as posts
    {{ refreshed_only('posts', 'posts.published_at') }}
),

account_snapshots as (
    select * from {{ ref('stg_social__account_snapshots') }}
),

questions as (
    select
        platform,
        interaction_id,
        account_id,
        author_native_id,
        author_handle,
        interaction_text as question_text,
        published_at as asked_at
    from interactions
    where is_question
),

answers as (
    select
        platform,
        account_id,
        post_id,
        in_reply_to_post_id,
        published_at
    from posts
    where post_type = 'reply' and not is_deleted
),

first_answers as (
    select
        questions.platform,
        questions.account_id,
        questions.interaction_id,
        min(answers.published_at) as first_answered_at,
        arg_min(answers.post_id, answers.published_at) as first_answer_post_id
    from questions
    inner join answers
        on
            questions.platform = answers.platform
            and questions.account_id = answers.account_id
            and questions.interaction_id = answers.in_reply_to_post_id
            and questions.asked_at <= answers.published_at
    group by
        questions.platform,
        questions.account_id,
        questions.interaction_id
),

latest_observations as (
    select
        account_id,
        max(observed_at) as last_observed_at
    from account_snapshots
    group by account_id
),

joined as (
    select
        questions.platform,
        questions.interaction_id,
        questions.account_id,
        questions.author_native_id,
        questions.author_handle,
        questions.question_text,
        questions.asked_at,
        cast(date_trunc('week', questions.asked_at) as date) as week_start_date,
        questions.asked_at + to_days({{ var('question_answer_window_days') }}) as answer_deadline_at,
        first_answers.first_answered_at,
        first_answers.first_answer_post_id,
        epoch(first_answers.first_answered_at - questions.asked_at) / 3600.0 as response_hours,
        latest_observations.last_observed_at
    from questions
    left join first_answers
        on
            questions.platform = first_answers.platform
            and questions.account_id = first_answers.account_id
            and questions.interaction_id = first_answers.interaction_id
    left join latest_observations
        on questions.account_id = latest_observations.account_id
),

outcomes_decided as (
    select
        platform,
        interaction_id,
        account_id,
        author_native_id,
        author_handle,
        question_text,
        asked_at,
        week_start_date,
        answer_deadline_at,
        first_answered_at,
        first_answer_post_id,
        response_hours,
        coalesce(first_answered_at <= answer_deadline_at, false) as is_answered,
        -- Unanswered while its answer window is still open at the account's
        -- latest observation: neither answered nor unanswered yet.
        not coalesce(first_answered_at <= answer_deadline_at, false)
        and coalesce(answer_deadline_at > last_observed_at, false) as is_pending
    from joined
)

select * from outcomes_decided
