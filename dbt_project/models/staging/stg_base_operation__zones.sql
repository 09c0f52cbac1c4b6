with

source as (
    select * from {{ source('base_operation', 'zones') }}
),

renamed as (
    select
        zone_code,
        zone_name,
        region,
        updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
