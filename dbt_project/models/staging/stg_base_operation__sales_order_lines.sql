with

source as (
    select * from {{ source('base_operation', 'sales_order_lines') }}
),

renamed as (
    select
        order_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        discount_rate,
        updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
