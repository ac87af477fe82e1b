-- One row per analytics export format and component: whether a file of the
-- format feeds it, and how. A BI reader joins it to the scores to tell a
-- component an export does not show (NULL, named in coverage_notes) from a
-- quiet week.
with

export_formats as (
    select * from {{ ref('stg_social__export_formats') }}
),

export_format_feeds as (
    select * from {{ ref('stg_social__export_format_feeds') }}
),

final as (
    select
        export_formats.export_format,
        export_formats.platform,
        export_formats.format_name,
        export_formats.files,
        export_formats.where_downloaded,
        export_format_feeds.component_number,
        export_format_feeds.component,
        export_format_feeds.is_fed,
        export_format_feeds.feed_note
    from export_formats
    inner join export_format_feeds
        on export_formats.export_format = export_format_feeds.export_format
)

select * from final
