-- Every score, and every score-like component, is NULL or within 0-100; every
-- share within 0-1. Returns the offending rows.
with

scores as (
    select * from {{ ref('fct_relationship_scores') }}
),

out_of_range as (
    select
        account_id,
        week_start_date,
        trust_score,
        openness_score,
        involvement_score,
        investment_score,
        commitment_score,
        overall_score
    from scores
    where
        trust_score not between 0 and 100
        or openness_score not between 0 and 100
        or involvement_score not between 0 and 100
        or investment_score not between 0 and 100
        or commitment_score not between 0 and 100
        or overall_score not between 0 and 100
        or response_time_score not between 0 and 100
        or sustained_quality_score not between 0 and 100
        or answered_question_share not between 0 and 1
        or reply_share not between 0 and 1
        or own_news_share not between 0 and 1
        or directed_at_others_share not between 0 and 1
        or non_promotional_share not between 0 and 1
        or alt_text_share not between 0 and 1
        or trust_presence_share not between 0 and 1
        or investment_presence_share not between 0 and 1
        or active_week_share not between 0 and 1
        or burst_penalty not between 0 and 1
)

select * from out_of_range
