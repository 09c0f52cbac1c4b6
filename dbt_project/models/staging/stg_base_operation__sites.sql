with

source as (
    {{ latest_row_per_key(
        source('base_operation', 'sites'),
        ['site_id']
    ) }}
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
