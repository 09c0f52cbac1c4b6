with

source as (
    {{ latest_row_per_key(
        source('base_operation', 'stock_levels'),
        ['site_id', 'product_id']
    ) }}
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
