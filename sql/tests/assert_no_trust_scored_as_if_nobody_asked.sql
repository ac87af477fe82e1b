-- Coverage (docs/methodology.md): no account-week whose threads are read below
-- min_thread_coverage, or with unread threads and no public question found,
-- has a trust score. Returns the offending rows.
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
        and (
            thread_coverage < {{ var('min_thread_coverage') }}
            or (unread_threads > 0 and questions_received = 0)
        )
)

select * from scored_unseen
