with

stock as (
    select * from {{ ref('stg_base_operation__stock_levels') }}
),

sites as (
    select * from {{ ref('stg_base_operation__sites') }}
),

zones as (
    select * from {{ ref('stg_zone_context__zone_settings') }}
),

order_lines as (
    select * from {{ ref('fct_order_lines') }}
),

shipments as (
    select * from {{ ref('stg_base_operation__shipments') }}
),

{#
    An order's demand is counted at the site of its first shipment; orders
    not yet shipped from anywhere count nowhere.
#}
first_shipments as (
    select
        order_id,
        min(shipment_id) as shipment_id
    from shipments
    group by 1
),

recent_demand as (
    select
        shipments.site_id,
        order_lines.product_id,
        sum(order_lines.quantity) as ordered_quantity
    from order_lines
    inner join first_shipments
        on order_lines.order_id = first_shipments.order_id
    inner join shipments
        on first_shipments.shipment_id = shipments.shipment_id
    where
        order_lines.order_status <> 'cancelled'
        and order_lines.ordered_at >= {{ as_of_timestamp() }}
        - interval '{{ var("demand_window_days") }} days'
        and order_lines.ordered_at < {{ as_of_timestamp() }}
    group by 1, 2
),

final as (
    select
        {{ null_safe_key(['stock.site_id', 'stock.product_id']) }}
            as stock_position_key,
        stock.site_id,
        stock.product_id,
        sites.zone_code,
        zones.zone_time_zone,
        zones.zone_currency,
        sites.site_name,
        sites.site_type,
        stock.on_hand_quantity,
        stock.reserved_quantity,
        stock.on_hand_quantity - stock.reserved_quantity
            as available_quantity,
        stock.reorder_point,
        cast(
            round(
                coalesce(recent_demand.ordered_quantity, 0)
                / cast({{ var("demand_window_days") }} as decimal(18, 6)),
                3
            ) as decimal(14, 3)
        ) as recent_daily_demand,
        {{ ratio(
            '(stock.on_hand_quantity - stock.reserved_quantity) * '
            ~ var("demand_window_days"),
            'recent_demand.ordered_quantity') }} as days_of_cover,
        stock.on_hand_quantity - stock.reserved_quantity
        < stock.reorder_point as is_below_reorder_point,
        stock.on_hand_quantity - stock.reserved_quantity
        <= 0 as is_stock_out,
        stock.updated_at,
        {{ to_local_date('stock.updated_at', 'zones.zone_time_zone') }}
            as updated_local_date
    from stock
    inner join sites
        on stock.site_id = sites.site_id
    inner join zones
        on sites.zone_code = zones.zone_code
    left join recent_demand
        on
            stock.site_id = recent_demand.site_id
            and stock.product_id = recent_demand.product_id
)

select * from final
