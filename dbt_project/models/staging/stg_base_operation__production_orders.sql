with

source as (
    select * from {{ source('base_operation', 'production_orders') }}
),

renamed as (
    select
        work_order_id,
        site_id,
        product_id,
        planned_quantity,
        produced_quantity,
        planned_start_date,
        planned_end_date,
        actual_start_at,
        actual_end_at,
        work_order_status,
        updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
