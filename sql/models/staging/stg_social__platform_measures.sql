with

source_platform_measures as (
    select * from {{ source('social', 'platform_measures') }}
),

renamed as (
    select
        cast(platform as varchar) as platform,
        cast(measure_number as integer) as measure_number,
        cast(measure as varchar) as measure_name,
        cast(seen as varchar) as availability,
        cast(how as varchar) as availability_note
    from source_platform_measures
)

select * from renamed
