with

orders as (
    select * from {{ ref('stg_base_operation__sales_orders') }}
),

customers as (
    select * from {{ ref('stg_base_operation__customers') }}
),

zones as (
    select * from {{ ref('stg_zone_context__zone_settings') }}
),

localized as (
    select
        orders.order_id,
        orders.customer_id,
        customers.zone_code,
        zones.zone_time_zone,
        zones.zone_currency,
        zones.delivery_sla_days,
        customers.market_segment,
        orders.channel,
        orders.order_status,
        orders.currency,
        orders.ordered_at,
        {{ to_local('orders.ordered_at', 'zones.zone_time_zone') }}
            as ordered_at_local,
        {{ to_local_date('orders.ordered_at', 'zones.zone_time_zone') }}
            as order_local_date,
        orders.updated_at,
        greatest(
            orders.loaded_at, customers.loaded_at, zones.loaded_at
        ) as loaded_at
    from orders
    inner join customers
        on orders.customer_id = customers.customer_id
    inner join zones
        on customers.zone_code = zones.zone_code
)

select * from localized
