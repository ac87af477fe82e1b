{#- The answered questions of an account-week shown as its slowest answers. -#}
{%- set slowest_answers = 3 -%}
with

questions as (
    select * from {{ ref('int_questions_joined_to_answers') }}
),

interactions as (
    select * from {{ ref('stg_social__interactions') }}
),

accounts as (
    select * from {{ ref('stg_social__accounts') }}
),

platforms as (
    select * from {{ ref('stg_social__platforms') }}
),

questions_described as (
    select
        accounts.organization_id,
        questions.account_id,
        questions.platform,
        questions.week_start_date,
        questions.interaction_id,
        questions.asked_at,
        interactions.author_handle,
        interactions.interaction_text as question_text,
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
            'interactions.author_handle', 'questions.interaction_id'
        ) }} as question_url,
        {{ format_post_url(
            'platforms.post_url_template', 'accounts.instance',
            'accounts.handle', 'questions.first_answer_post_id'
        ) }} as answer_url,
        questions.is_answered
    from questions
    inner join accounts
        on questions.account_id = accounts.account_id
    left join interactions
        on
            questions.platform = interactions.platform
            and questions.account_id = interactions.account_id
            and questions.interaction_id = interactions.interaction_id
    left join platforms
        on questions.platform = platforms.platform
),

slowest_answers_ranked as (
    select
        *,
        case
            when is_answered
                then
                    row_number() over (
                        partition by account_id, week_start_date, is_answered
                        order by response_hours desc, interaction_id asc
                    )
        end as answer_rank
    from questions_described
),

final as (
    select
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
        coalesce(answer_rank <= {{ slowest_answers }}, false) as is_slowest_answer
    from slowest_answers_ranked
)

select * from final
