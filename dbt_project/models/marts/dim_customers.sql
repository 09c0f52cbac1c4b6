with

customers as (
    select * from {{ ref('stg_base_operation__customers') }}
),

zones as (
    select * from {{ ref('stg_zone_context__zone_settings') }}
),

final as (
    select
        customers.customer_id,
        customers.zone_code,
        zones.zone_name,
        zones.zone_time_zone,
        zones.zone_currency,
        customers.customer_name,
        customers.market_segment,
        customers.city,
        customers.created_at,
        {{ to_local_date('customers.created_at', 'zones.zone_time_zone') }}
            as created_local_date
    from customers
    inner join zones
        on customers.zone_code = zones.zone_code
)

select * from final
