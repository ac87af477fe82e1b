with

source_organizations as (
    select * from {{ source('social', 'organizations') }}
),

renamed as (
    select
        cast(organization_id as varchar) as organization_id,
        cast(name as varchar) as organization_name,
        cast(peer_group as varchar) as peer_group,
        cast(size_band as varchar) as size_band,
        cast(language as varchar) as language_code
    from source_organizations
)

select * from renamed
