with

source as (
    {{ latest_row_per_key(
        source('base_operation', 'zones'),
        ['zone_code']
    ) }}
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
