-- One row per ISO week of an account read from analytics export files, from
-- the week of its first file's first day to the week of its last file's last
-- day: how many of the week's days its files cover, the formats covering it,
-- and for each component whether one of those formats feeds it
-- (docs/methodology.md, Accounts read from analytics exports).
with

export_files as (
    select * from {{ ref('stg_social__export_files') }}
),

export_formats as (
    select * from {{ ref('stg_social__export_formats') }}
),

export_format_feeds as (
    select * from {{ ref('stg_social__export_format_feeds') }}
),

-- Every day a file covers: [covers_since, covers_until).
file_days as (
    select
        account_id,
        export_format,
        cast(
            unnest(generate_series(covers_since, covers_until - interval 1 day, interval 1 day)) as date
        ) as covered_date
    from export_files
    where covers_until > covers_since
),

file_days_by_week as (
    select
        account_id,
        export_format,
        covered_date,
        cast(date_trunc('week', covered_date) as date) as week_start_date
    from file_days
),

account_ranges as (
    select
        account_id,
        min(week_start_date) as first_week_start_date,
        max(week_start_date) as last_week_start_date
    from file_days_by_week
    group by account_id
),

-- Every week of the range, the weeks no file covers included (gaps between files).
account_weeks as (
    select
        account_id,
        cast(
            unnest(generate_series(first_week_start_date, last_week_start_date, interval 7 day)) as date
        ) as week_start_date
    from account_ranges
),

days_counted as (
    select
        account_id,
        week_start_date,
        count(distinct covered_date) as export_days_covered
    from file_days_by_week
    group by
        account_id,
        week_start_date
),

-- The formats with a file covering at least one of the week's days.
week_formats as (
    select distinct
        file_days_by_week.account_id,
        file_days_by_week.week_start_date,
        file_days_by_week.export_format,
        -- A format no longer declared keeps its key as its name.
        coalesce(export_formats.format_name, file_days_by_week.export_format) as format_name
    from file_days_by_week
    left join export_formats
        on file_days_by_week.export_format = export_formats.export_format
),

feeds_combined as (
    select
        week_formats.account_id,
        week_formats.week_start_date,
        string_agg(distinct week_formats.export_format, ',' order by week_formats.export_format)
            as export_formats,
        string_agg(distinct week_formats.format_name, ' or ' order by week_formats.format_name)
            as export_format_names,
    {%- for component in export_components() %}
        -- A format without a row for it does not feed it.
        coalesce(
            bool_or(export_format_feeds.is_fed)
            filter (where export_format_feeds.component = '{{ component[0] }}'),
            false
        ) as is_{{ component[0] }}_fed{{ "," if not loop.last }}
    {%- endfor %}
    from week_formats
    left join export_format_feeds
        on week_formats.export_format = export_format_feeds.export_format
    group by
        week_formats.account_id,
        week_formats.week_start_date
),

-- The components none of the week's formats feeds, in COMPONENTS order.
unfed_components_listed as (
    select
        *,
        list_filter(
            [
                {%- for component in export_components() %}
                    case
                        when not is_{{ component[0] }}_fed then '{{ component[0] }}'
                    end{{ "," if not loop.last }}
                {%- endfor %}
            ],
            lambda component_name: component_name is not null
        ) as components_not_fed
    from feeds_combined
),

joined as (
    select
        account_weeks.account_id,
        account_weeks.week_start_date,
        coalesce(days_counted.export_days_covered, 0) as export_days_covered,
        -- Its posts are all known only when every day is: a week a file covers partly is not.
        coalesce(days_counted.export_days_covered, 0) = 7 as is_week_covered,
        unfed_components_listed.export_formats,
        unfed_components_listed.export_format_names,
        {%- for component in export_components() %}
            unfed_components_listed.is_{{ component[0] }}_fed,
        {%- endfor %}
        unfed_components_listed.components_not_fed
    from account_weeks
    left join days_counted
        on
            account_weeks.account_id = days_counted.account_id
            and account_weeks.week_start_date = days_counted.week_start_date
    left join unfed_components_listed
        on
            account_weeks.account_id = unfed_components_listed.account_id
            and account_weeks.week_start_date = unfed_components_listed.week_start_date
)

select * from joined
