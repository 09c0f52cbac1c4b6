with

source as (
    select * from {{ source('base_operation', 'sales_orders') }}
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
