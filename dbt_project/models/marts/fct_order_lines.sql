{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_line_key',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_rows_missing_from(
            ref('stg_base_operation__sales_order_lines'),
            'order_line_key',
            ['order_id', 'line_number']
        ) }}",
    )
}}
{#
    append_new_columns: a column added to the model reaches the published
    table without a full rebuild of every order line; old rows get NULL until
    a full refresh, which is safer than failing the daily run.
#}

with

{% if is_incremental() %}
changed_orders as (
    select order_id from {{ ref('int_sales_orders_localized') }}
    where loaded_at > {{ incremental_cutoff() }}
),

changed_products as (
    select product_id from {{ ref('stg_base_operation__products') }}
    where loaded_at > {{ incremental_cutoff() }}
),
{% endif %}

order_lines as (
    select * from {{ ref('stg_base_operation__sales_order_lines') }}
    {% if is_incremental() %}
    {#
        The lines loaded after the cutoff and those whose order or product
        was: the join below then localizes their orders only. Joining every
        line took 2.0 s against 0.4 s at 10M order lines.
    #}
    where
        loaded_at > {{ incremental_cutoff() }}
        or order_id in (select changed_orders.order_id from changed_orders)
        or product_id in (
            select changed_products.product_id from changed_products
        )
    {% endif %}
),

orders as (
    select * from {{ ref('int_sales_orders_localized') }}
    {% if is_incremental() %}
    where order_id in (select order_lines.order_id from order_lines)
    {% endif %}
),

products as (
    select * from {{ ref('stg_base_operation__products') }}
),

joined as (
    select
        {{ null_safe_key(['order_lines.order_id', 'order_lines.line_number']) }}
            as order_line_key,
        order_lines.order_id,
        order_lines.line_number,
        orders.zone_code,
        orders.zone_time_zone,
        orders.zone_currency,
        orders.customer_id,
        order_lines.product_id,
        products.family as product_family,
        products.category as product_category,
        orders.market_segment,
        orders.channel,
        orders.order_status,
        orders.currency,
        order_lines.quantity,
        order_lines.unit_price,
        order_lines.discount_rate,
        products.unit_cost,
        orders.ordered_at,
        orders.ordered_at_local,
        orders.order_local_date,
        greatest(orders.updated_at, order_lines.updated_at) as updated_at,
        greatest(
            order_lines.loaded_at, orders.loaded_at, products.loaded_at
        ) as loaded_at
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    inner join products
        on order_lines.product_id = products.product_id
),

changed as (
    select * from joined
    {% if is_incremental() %}
    where loaded_at > {{ incremental_cutoff() }}
    {% endif %}
),

priced as (
    select
        *,
        cast(quantity * unit_price as decimal(16, 2)) as gross_amount,
        cast(
            round(quantity * unit_price * (1 - discount_rate), 2)
            as decimal(16, 2)
        ) as net_amount,
        cast(quantity * unit_cost as decimal(16, 2)) as cost_amount
    from changed
),

final as (
    select
        order_line_key,
        order_id,
        line_number,
        zone_code,
        zone_time_zone,
        zone_currency,
        customer_id,
        product_id,
        product_family,
        product_category,
        market_segment,
        channel,
        order_status,
        currency,
        quantity,
        unit_price,
        discount_rate,
        gross_amount,
        gross_amount - net_amount as discount_amount,
        net_amount,
        cost_amount,
        net_amount - cost_amount as margin_amount,
        {{ ratio('net_amount - cost_amount', 'net_amount') }} as margin_rate,
        ordered_at,
        ordered_at_local,
        order_local_date,
        cast(extract(hour from ordered_at_local) as integer)
            as order_local_hour,
        updated_at,
        loaded_at
    from priced
)

select * from final
