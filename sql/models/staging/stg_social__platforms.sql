with

source_platforms as (
    select * from {{ source('social', 'platforms') }}
),

renamed as (
    select
        cast(platform as varchar) as platform,
        cast(platform_name as varchar) as platform_name,
        cast(is_simulated as boolean) as is_simulated,
        cast(needs_instance as boolean) as needs_instance,
        cast(cost_unit as varchar) as cost_unit,
        cast(cost_first_run as bigint) as cost_first_run,
        cast(cost_nightly as bigint) as cost_nightly,
        cast(cost_nothing_new as bigint) as cost_nothing_new,
        cast(cost_example as varchar) as cost_example,
        cast(unavailable_columns as varchar[]) as unavailable_columns,
        cast(post_url_template as varchar) as post_url_template
    from source_platforms
)

select * from renamed
