-- One row per platform and measure of its metric-availability table: what it
-- can and cannot see (yes, partly, no) and how. A BI reader joins it to the
-- scores to tell a NULL the platform cannot show from one of a quiet week.
with

measures as (
    select * from {{ ref('stg_social__platform_measures') }}
),

final as (
    select
        platform,
        measure_number,
        measure_name,
        availability,
        availability_note
    from measures
)

select * from final
