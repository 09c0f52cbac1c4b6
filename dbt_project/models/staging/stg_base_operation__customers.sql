with

source as (
    select * from {{ source('base_operation', 'customers') }}
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
