with

source as (
    select * from {{ source('base_operation', 'stock_levels') }}
),

renamed as (
    select
        site_id,
        product_id,
        on_hand_quantity,
        reserved_quantity,
        reorder_point,
        updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
