-- Week-to-week stability of each indicator: for every account and every pair of
-- consecutive weeks of its span where the indicator is defined in both, the
-- change from one week to the next. Reports, per indicator, the standard
-- deviation of those changes and the number of drops of more than 15 points.
-- Plain SQL (no ref) so that it runs on any warehouse or published copy:
--   rapport query --warehouse -- "$(cat sql/analyses/week_to_week_stability.sql)"
-- docs/methodology.md gives its figures on the demo before and after 0.2.
with

scores as (
    select * from marts.fct_relationship_scores
),

indicators_unpivoted as (
    unpivot scores
    on trust_score, openness_score, involvement_score, investment_score, commitment_score, overall_score
    into name indicator value score
),

week_pairs as (
    select
        current_weeks.indicator,
        current_weeks.score - previous_weeks.score as score_change
    from indicators_unpivoted as current_weeks
    inner join indicators_unpivoted as previous_weeks
        on
            current_weeks.account_id = previous_weeks.account_id
            and current_weeks.indicator = previous_weeks.indicator
            and current_weeks.week_start_date - 7 = previous_weeks.week_start_date
),

stability as (
    select
        replace(indicator, '_score', '') as indicator,
        count(*) as week_pairs,
        round(stddev_samp(score_change), 1) as week_to_week_sd,
        count(*) filter (where score_change < -15) as drops_over_15_points
    from week_pairs
    group by indicator
)

select * from stability
order by list_position(
    ['trust', 'openness', 'involvement', 'investment', 'commitment', 'overall'], indicator
)
