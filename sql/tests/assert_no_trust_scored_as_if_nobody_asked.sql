-- Coverage (docs/methodology.md): no account-week whose threads are read below
-- min_thread_coverage, or with unread threads and no public question found,
-- has a trust score (a week read from the API). Returns the offending rows.
with

scores as (
    select * from {{ ref('fct_relationship_scores') }}
),

scored_unseen as (
    select
        account_id,
        week_start_date,
        threads_with_replies,
        unread_threads,
        thread_coverage,
        questions_received,
        trust_score
    from scores
    where
        trust_score is not null
        -- An export week's threads are never read: its own rule applies
        -- (assert_no_export_week_scores_what_its_files_do_not_show).
        and export_days_covered is null
        and (
            thread_coverage < {{ var('min_thread_coverage') }}
            or (unread_threads > 0 and questions_received = 0)
        )
)

select * from scored_unseen
