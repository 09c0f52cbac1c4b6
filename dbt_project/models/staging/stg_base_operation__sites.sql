with

source as (
    select * from {{ source('base_operation', 'sites') }}
),

renamed as (
    select
        site_id,
        zone_code,
        site_name,
        city,
        site_type,
        updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
