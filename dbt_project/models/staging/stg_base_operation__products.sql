with

source as (
    select * from {{ source('base_operation', 'products') }}
),

renamed as (
    select
        product_id,
        sku,
        product_name,
        family,
        category,
        unit_cost,
        list_price,
        updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
