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

source_order_days as (
    select
        customers.zone_code,
        {{ to_local_date('orders.ordered_at', 'zones.time_zone') }}
            as local_date,
        count(*) as order_lines,
        sum(order_lines.quantity) as ordered_quantity,
        sum(round(
            order_lines.quantity * order_lines.unit_price
            * (1 - order_lines.discount_rate), 2
        )) as revenue
    from order_lines
    inner join orders on order_lines.order_id = orders.order_id
    inner join customers on orders.customer_id = customers.customer_id
    inner join zones on customers.zone_code = zones.zone_code
    where orders.order_status <> 'cancelled'
    group by 1, 2
),

source_invoice_days as (
    select
        customers.zone_code,
        invoices.invoice_date as local_date,
        count(*) as invoices,
        sum(invoices.amount) as invoiced_amount
    from invoices
    inner join customers on invoices.customer_id = customers.customer_id
    where invoices.invoice_status <> 'cancelled'
    group by 1, 2
),

source_payment_days as (
    select
        customers.zone_code,
        {{ to_local_date('payments.paid_at', 'zones.time_zone') }}
            as local_date,
        count(*) as payments,
        sum(payments.amount) as paid_amount
    from payments
    inner join invoices on payments.invoice_id = invoices.invoice_id
    inner join customers on invoices.customer_id = customers.customer_id
    inner join zones on customers.zone_code = zones.zone_code
    group by 1, 2
),

source_keys as (
    select
        zone_code,
        local_date
    from source_order_days
    union
    select
        zone_code,
        local_date
    from source_invoice_days
    union
    select
        zone_code,
        local_date
    from source_payment_days
    union
    select
        zone_code,
        local_date
    from kpis
),

source_totals as (
    select
        source_keys.zone_code,
        source_keys.local_date,
        coalesce(source_order_days.order_lines, 0) as order_lines,
        coalesce(source_order_days.ordered_quantity, 0) as ordered_quantity,
        coalesce(source_order_days.revenue, 0) as revenue,
        coalesce(source_invoice_days.invoices, 0) as invoices,
        coalesce(source_invoice_days.invoiced_amount, 0) as invoiced_amount,
        coalesce(source_payment_days.payments, 0) as payments,
        coalesce(source_payment_days.paid_amount, 0) as paid_amount
    from source_keys
    left join source_order_days
        on
            source_keys.zone_code = source_order_days.zone_code
            and source_keys.local_date = source_order_days.local_date
    left join source_invoice_days
        on
            source_keys.zone_code = source_invoice_days.zone_code
            and source_keys.local_date = source_invoice_days.local_date
    left join source_payment_days
        on
            source_keys.zone_code = source_payment_days.zone_code
            and source_keys.local_date = source_payment_days.local_date
),

compared as (
    select
        source_totals.*,
        kpis.revenue as mart_revenue
    from source_totals
    left join kpis
        on
            source_totals.zone_code = kpis.zone_code
            and source_totals.local_date = kpis.local_date
    where
        kpis.zone_code is null
        or source_totals.order_lines <> kpis.order_lines
        or source_totals.ordered_quantity <> kpis.ordered_quantity
        or source_totals.revenue <> kpis.revenue
        or source_totals.invoices <> kpis.invoices
        or source_totals.invoiced_amount <> kpis.invoiced_amount
        or source_totals.payments <> kpis.payments
        or source_totals.paid_amount <> kpis.paid_amount
)

select * from compared
