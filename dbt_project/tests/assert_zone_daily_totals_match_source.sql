{#
    Per zone and local day, the daily KPI mart must hold exactly the order
    line, invoice and payment totals computed straight from the landed
    source rows, to the cent. Returns the days that differ; a lost, doubled
    or misdated row shows up here even when every key test passes.
#}

with

zones as (
    select * from {{ source('zone_context', 'zone_settings') }}
),

customers as (
    select * from {{ ref('stg_base_operation__customers') }}
),

orders as (
    select * from {{ ref('stg_base_operation__sales_orders') }}
),

order_lines as (
    select * from {{ ref('stg_base_operation__sales_order_lines') }}
),

invoices as (
    select * from {{ ref('stg_base_operation__invoices') }}
),

payments as (
    select * from {{ ref('stg_base_operation__payments') }}
),

kpis as (
    select * from {{ ref('fct_zone_daily_kpis') }}
),

source_days as (
    select
        customers.zone_code,
        {{ to_local_date('orders.ordered_at', 'zones.time_zone') }}
            as local_date,
        count(*) as order_lines,
        sum(order_lines.quantity) as ordered_quantity,
        sum(round(
            order_lines.quantity * order_lines.unit_price
            * (1 - order_lines.discount_rate), 2
        )) as revenue,
        0 as invoices,
        0 as invoiced_amount,
        0 as payments,
        0 as paid_amount
    from order_lines
    inner join orders on order_lines.order_id = orders.order_id
    inner join customers on orders.customer_id = customers.customer_id
    inner join zones on customers.zone_code = zones.zone_code
    where orders.order_status <> 'cancelled'
    group by 1, 2
    union all
    select
        customers.zone_code,
        invoices.invoice_date as local_date,
        0, 0, 0,
        count(*),
        sum(invoices.amount),
        0, 0
    from invoices
    inner join customers on invoices.customer_id = customers.customer_id
    where invoices.invoice_status <> 'cancelled'
    group by 1, 2
    union all
    select
        customers.zone_code,
        {{ to_local_date('payments.paid_at', 'zones.time_zone') }},
        0, 0, 0, 0, 0,
        count(*),
        sum(payments.amount)
    from payments
    inner join invoices on payments.invoice_id = invoices.invoice_id
    inner join customers on invoices.customer_id = customers.customer_id
    inner join zones on customers.zone_code = zones.zone_code
    group by 1, 2
),

source_totals as (
    select
        zone_code,
        local_date,
        sum(order_lines) as order_lines,
        sum(ordered_quantity) as ordered_quantity,
        sum(revenue) as revenue,
        sum(invoices) as invoices,
        sum(invoiced_amount) as invoiced_amount,
        sum(payments) as payments,
        sum(paid_amount) as paid_amount
    from source_days
    group by 1, 2
),

compared as (
    select
        coalesce(source_totals.zone_code, kpis.zone_code) as zone_code,
        coalesce(source_totals.local_date, kpis.local_date) as local_date,
        source_totals.revenue as source_revenue,
        kpis.revenue as mart_revenue
    from source_totals
    full outer join kpis
        on
            source_totals.zone_code = kpis.zone_code
            and source_totals.local_date = kpis.local_date
    where
        coalesce(source_totals.order_lines, 0) <> coalesce(kpis.order_lines, 0)
        or coalesce(source_totals.ordered_quantity, 0)
        <> coalesce(kpis.ordered_quantity, 0)
        or coalesce(source_totals.revenue, 0) <> coalesce(kpis.revenue, 0)
        or coalesce(source_totals.invoices, 0) <> coalesce(kpis.invoices, 0)
        or coalesce(source_totals.invoiced_amount, 0)
        <> coalesce(kpis.invoiced_amount, 0)
        or coalesce(source_totals.payments, 0) <> coalesce(kpis.payments, 0)
        or coalesce(source_totals.paid_amount, 0)
        <> coalesce(kpis.paid_amount, 0)
)

select * from compared
