{#- The answered questions of an account-week shown as its slowest answers. -#}
{%- set slowest_answers = 3 -%}
with

questions as (
    select * from {{ ref('int_questions_joined_to_answers') }}
),

accounts as (
    select * from {{ ref('stg_social__accounts') }}
),

platforms as (
    select * from {{ ref('stg_social__platforms') }}
),

-- The answered questions of each account-week that waited longest, ranked on
-- their keys alone: a sort of narrow rows, not of every question's text.
slowest_answers as (
    select
        platform,
        account_id,
        week_start_date,
        interaction_id
    from questions
    where is_answered
    qualify
        row_number() over (
            partition by account_id, week_start_date
            order by response_hours desc, interaction_id asc
        ) <= {{ slowest_answers }}
),

questions_described as (
    select
        accounts.organization_id,
        questions.account_id,
        questions.platform,
        questions.week_start_date,
        questions.interaction_id,
        questions.asked_at,
        questions.author_handle,
        questions.question_text,
        case
            when questions.is_answered then 'answered'
            when questions.is_pending then 'pending'
            else 'unanswered'
        end as status,
        questions.first_answered_at as answered_at,
        questions.first_answer_post_id as answer_post_id,
        questions.response_hours,
        {{ format_post_url(
            'platforms.post_url_template', 'accounts.instance',
            'questions.author_handle', 'questions.interaction_id'
        ) }} as question_url,
        {{ format_post_url(
            'platforms.post_url_template', 'accounts.instance',
            'accounts.handle', 'questions.first_answer_post_id'
        ) }} as answer_url,
        slowest_answers.interaction_id is not null as is_slowest_answer
    from questions
    inner join accounts
        on questions.account_id = accounts.account_id
    left join slowest_answers
        on
            questions.platform = slowest_answers.platform
            and questions.account_id = slowest_answers.account_id
            and questions.week_start_date = slowest_answers.week_start_date
            and questions.interaction_id = slowest_answers.interaction_id
    left join platforms
        on questions.platform = platforms.platform
),

-- In the contract's order.
final as (
    select  -- noqa: ST06
        organization_id,
        account_id,
        platform,
        week_start_date,
        interaction_id,
        asked_at,
        author_handle,
        question_text,
        status,
        answered_at,
        answer_post_id,
        round(response_hours, 2) as response_hours,
        question_url,
        answer_url,
        is_slowest_answer
    from questions_described
)

select * from final
