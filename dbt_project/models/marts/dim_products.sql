with

products as (
    select * from {{ ref('stg_base_operation__products') }}
),

final as (
    select
        product_id,
        sku,
        product_name,
        family,
        category,
        unit_cost,
        list_price,
        {{ ratio('list_price - unit_cost', 'list_price') }}
            as list_margin_rate
    from products
)

select * from final
