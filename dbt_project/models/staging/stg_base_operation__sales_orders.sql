with

source as (
    {{ latest_row_per_key(
        source('base_operation', 'sales_orders'),
        ['order_id']
    ) }}
),

renamed as (
    select
        order_id,
        customer_id,
        channel,
        order_status,
        currency,
        ordered_at,
        updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
