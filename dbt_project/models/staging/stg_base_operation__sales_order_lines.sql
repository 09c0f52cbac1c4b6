with

source as (
    {{ latest_row_per_key(
        source('base_operation', 'sales_order_lines'),
        ['order_id', 'line_number']
    ) }}
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
