with

source_export_format_feeds as (
    select * from {{ source('social', 'export_format_feeds') }}
),

renamed as (
    select
        cast(export_format as varchar) as export_format,
        cast(component_number as integer) as component_number,
        cast(component as varchar) as component,
        cast(is_fed as boolean) as is_fed,
        cast(how as varchar) as feed_note
    from source_export_format_feeds
)

select * from renamed
