with

source_export_formats as (
    select * from {{ source('social', 'export_formats') }}
),

renamed as (
    select
        cast(export_format as varchar) as export_format,
        cast(platform as varchar) as platform,
        cast(format_name as varchar) as format_name,
        cast(files as varchar) as files,
        cast(where_downloaded as varchar) as where_downloaded
    from source_export_formats
)

select * from renamed
