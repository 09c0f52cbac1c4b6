{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='shipment_id',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_rows_missing_from(
            ref('stg_base_operation__shipments'), 'shipment_id', ['shipment_id']
        ) }}",
    )
}}
{# append_new_columns: as fct_order_lines, a new column must not stop the
   daily run; a full refresh fills it for old rows. #}

with

{% if is_incremental() %}
changed_orders as (
    select order_id from {{ ref('int_sales_orders_localized') }}
    where loaded_at > {{ incremental_cutoff() }}
),
{% endif %}

shipments as (
    select * from {{ ref('stg_base_operation__shipments') }}
    {% if is_incremental() %}
    {# As in fct_order_lines: only the orders of changed rows are joined. #}
    where
        loaded_at > {{ incremental_cutoff() }}
        or order_id in (select changed_orders.order_id from changed_orders)
    {% endif %}
),

orders as (
    select * from {{ ref('int_sales_orders_localized') }}
    {% if is_incremental() %}
    where order_id in (select shipments.order_id from shipments)
    {% endif %}
),

calendar as (
    select * from {{ ref('stg_zone_context__zone_calendar') }}
),

changed as (
    select
        shipments.*,
        orders.zone_code,
        orders.zone_time_zone,
        orders.zone_currency,
        orders.delivery_sla_days,
        orders.customer_id,
        orders.order_status,
        orders.ordered_at,
        orders.order_local_date,
        greatest(shipments.updated_at, orders.updated_at) as row_updated_at,
        greatest(shipments.loaded_at, orders.loaded_at) as row_loaded_at
    from shipments
    inner join orders
        on shipments.order_id = orders.order_id
    {% if is_incremental() %}
    where
        greatest(shipments.loaded_at, orders.loaded_at)
        > {{ incremental_cutoff() }}
    {% endif %}
),

localized as (
    select
        *,
        {{ to_local('promised_at', 'zone_time_zone') }} as promised_at_local,
        {{ to_local('shipped_at', 'zone_time_zone') }} as shipped_at_local,
        {{ to_local('delivered_at', 'zone_time_zone') }}
            as delivered_at_local,
        {{ to_local_date('promised_at', 'zone_time_zone') }}
            as promised_local_date,
        {{ to_local_date('delivered_at', 'zone_time_zone') }}
            as delivered_local_date
    from changed
),

measured as (
    select
        localized.*,
        {{ days_between(
            'localized.promised_local_date', 'localized.delivered_local_date'
        ) }} as delay_days,
        delivered_day.working_day_number - promised_day.working_day_number
            as delay_working_days,
        delivered_day.working_day_number - ordered_day.working_day_number
            as delivery_working_days
    from localized
    left join calendar as ordered_day
        on
            localized.zone_code = ordered_day.zone_code
            and localized.order_local_date = ordered_day.calendar_date
    left join calendar as promised_day
        on
            localized.zone_code = promised_day.zone_code
            and localized.promised_local_date = promised_day.calendar_date
    left join calendar as delivered_day
        on
            localized.zone_code = delivered_day.zone_code
            and localized.delivered_local_date = delivered_day.calendar_date
),

final as (
    select
        shipment_id,
        order_id,
        zone_code,
        zone_time_zone,
        zone_currency,
        customer_id,
        carrier_id,
        site_id,
        order_status,
        delivery_sla_days,
        ordered_at,
        promised_at,
        shipped_at,
        delivered_at,
        promised_at_local,
        shipped_at_local,
        delivered_at_local,
        order_local_date,
        promised_local_date,
        delivered_local_date,
        delay_days,
        delay_working_days,
        delivery_working_days,
        row_updated_at as updated_at,
        row_loaded_at as loaded_at,
        delivered_at is not null as is_delivered,
        delivery_working_days > delivery_sla_days as is_late,
        delivery_working_days <= delivery_sla_days as is_on_time
    from measured
)

select * from final
