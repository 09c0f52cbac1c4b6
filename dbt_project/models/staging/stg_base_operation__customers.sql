with

source as (
    {{ latest_row_per_key(
        source('base_operation', 'customers'),
        ['customer_id']
    ) }}
),

renamed as (
    select
        customer_id,
        customer_name,
        market_segment,
        zone_code,
        city,
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
