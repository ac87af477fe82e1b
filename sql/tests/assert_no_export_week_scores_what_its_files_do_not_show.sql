-- Accounts read from analytics exports (docs/methodology.md): a week the
-- files do not cover whole has no score, and a covered week scores no
-- component none of its formats feeds (no trust without the public's
-- questions). Returns the offending rows.
with

scores as (
    select * from {{ ref('fct_relationship_scores') }}
),

weekly_metrics as (
    select * from {{ ref('fct_account_weekly_metrics') }}
),

joined as (
    select
        scores.*,
        weekly_metrics.export_components_not_fed
    from scores
    inner join weekly_metrics
        on
            scores.account_id = weekly_metrics.account_id
            and scores.week_start_date = weekly_metrics.week_start_date
    where scores.export_days_covered is not null
),

-- The components each week's scores drew on (trust rests on the public's questions).
components_listed as (
    select
        *,
        list_filter(
            [
                case when trust_score is not null then 'answered_question_share' end,
                case when shrunk_response_time_score is not null then 'response_time' end,
                case when shrunk_dialogue_share is not null then 'dialogue_share' end,
                case when shrunk_own_news_share is not null then 'own_news_share' end,
                case when shrunk_directed_at_others_share is not null then 'directed_at_others_share' end,
                case when shrunk_non_promotional_share is not null then 'non_promotional_share' end,
                case when shrunk_accessibility_share is not null then 'accessibility_share' end
            ],
            lambda component_name: component_name is not null
        ) as components_scored
    from joined
),

scored_unseen as (
    select
        account_id,
        week_start_date,
        export_days_covered,
        export_components_not_fed,
        components_scored,
        overall_score
    from components_listed
    where
        (
            export_days_covered < 7
            and coalesce(
                trust_score,
                openness_score,
                involvement_score,
                investment_score,
                commitment_score,
                overall_score
            ) is not null
        )
        or list_has_any(components_scored, export_components_not_fed)
)

select * from scored_unseen
