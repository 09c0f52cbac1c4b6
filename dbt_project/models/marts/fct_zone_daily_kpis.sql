with

zones as (
    select * from {{ ref('stg_zone_context__zone_settings') }}
),

calendar as (
    select * from {{ ref('stg_zone_context__zone_calendar') }}
),

order_lines as (
    select * from {{ ref('fct_order_lines') }}
    where order_status <> 'cancelled'
),

shipments as (
    select * from {{ ref('fct_shipments') }}
    where is_delivered
),

invoices as (
    select * from {{ ref('fct_invoices') }}
    where invoice_status <> 'cancelled'
),

payments as (
    select * from {{ ref('fct_payments') }}
),

work_orders as (
    select * from {{ ref('fct_work_orders') }}
    where work_order_status <> 'cancelled'
),

stock_positions as (
    select * from {{ ref('fct_stock_positions') }}
),

as_of_dates as (
    select
        zone_code,
        {{ to_local_date(as_of_timestamp(), 'zone_time_zone') }}
            as as_of_local_date
    from zones
),

first_days as (
    select
        zone_code,
        min(order_local_date) as first_local_date
    from order_lines
    group by 1
),

days as (
    select
        zones.zone_code,
        zones.zone_time_zone,
        zones.zone_currency,
        zones.daily_revenue_target,
        zones.on_time_rate_target,
        calendar.calendar_date as local_date,
        calendar.is_working_day,
        calendar.holiday_name,
        as_of_dates.as_of_local_date
    from zones
    inner join first_days
        on zones.zone_code = first_days.zone_code
    inner join as_of_dates
        on zones.zone_code = as_of_dates.zone_code
    inner join calendar
        on
            zones.zone_code = calendar.zone_code
            and first_days.first_local_date <= calendar.calendar_date
            and as_of_dates.as_of_local_date >= calendar.calendar_date
),

daily_orders as (
    select
        zone_code,
        order_local_date as local_date,
        count(distinct order_id) as orders,
        count(*) as order_lines,
        sum(quantity) as ordered_quantity,
        sum(net_amount) as revenue
    from order_lines
    group by 1, 2
),

daily_deliveries as (
    select
        zone_code,
        delivered_local_date as local_date,
        count(*) as delivered_shipments,
        sum(case when is_on_time then 1 else 0 end) as on_time_shipments
    from shipments
    group by 1, 2
),

daily_invoices as (
    select
        zone_code,
        invoice_date as local_date,
        count(*) as invoices,
        sum(amount) as invoiced_amount
    from invoices
    group by 1, 2
),

daily_payments as (
    select
        zone_code,
        paid_local_date as local_date,
        count(*) as payments,
        sum(amount) as paid_amount
    from payments
    group by 1, 2
),

{#
    A payment settles at most what its invoice still owed after the payments
    before it: an overpaid invoice counts as settled, as in fct_invoices, and
    does not lower the overdue amount of the zone's other invoices.
#}
applied_payments as (
    select
        payments.zone_code,
        payments.paid_local_date,
        payments.due_date,
        least(
            payments.amount,
            greatest(
                invoices.amount - coalesce(sum(payments.amount) over (
                    partition by payments.invoice_id
                    order by payments.paid_local_date, payments.payment_id
                    rows between unbounded preceding and 1 preceding
                ), 0),
                0
            )
        ) as applied_amount
    from payments
    inner join invoices
        on payments.invoice_id = invoices.invoice_id
),

{#
    Receivables overdue at the end of day D: amounts due before D, minus the
    payments received by D. Each invoice adds its amount the day after its
    due date; each payment removes what it settles on its date, or the day
    after the due date when paid earlier. A running sum turns these changes
    into the daily balance without joining every invoice to every day.
#}
overdue_changes as (
    select
        zone_code,
        {{ add_days('due_date', 1) }} as local_date,
        amount as change_amount
    from invoices
    union all
    select
        zone_code,
        greatest(
            paid_local_date, {{ add_days('due_date', 1) }}
        ) as local_date,
        -applied_amount as change_amount
    from applied_payments
),

{# Late work orders change the same way: +1 the day after the planned end,
   -1 on the day the order finishes late. #}
late_work_order_changes as (
    select
        zone_code,
        {{ add_days('planned_end_date', 1) }} as local_date,
        1 as change_count
    from work_orders
    union all
    select
        zone_code,
        greatest(
            actual_end_local_date, {{ add_days('planned_end_date', 1) }}
        ) as local_date,
        -1 as change_count
    from work_orders
    where actual_end_local_date is not null
),

daily_overdue_changes as (
    select
        zone_code,
        local_date,
        sum(change_amount) as change_amount
    from overdue_changes
    group by 1, 2
),

daily_late_changes as (
    select
        zone_code,
        local_date,
        sum(change_count) as change_count
    from late_work_order_changes
    group by 1, 2
),

stock_outs as (
    select
        zone_code,
        sum(case when is_stock_out then 1 else 0 end) as stock_out_positions
    from stock_positions
    group by 1
),

zone_days as (
    select
        days.*,
        coalesce(daily_orders.orders, 0) as orders,
        coalesce(daily_orders.order_lines, 0) as order_lines,
        coalesce(daily_orders.ordered_quantity, 0) as ordered_quantity,
        coalesce(daily_orders.revenue, 0) as revenue,
        coalesce(daily_deliveries.delivered_shipments, 0)
            as delivered_shipments,
        coalesce(daily_deliveries.on_time_shipments, 0) as on_time_shipments,
        coalesce(daily_invoices.invoices, 0) as invoices,
        coalesce(daily_invoices.invoiced_amount, 0) as invoiced_amount,
        coalesce(daily_payments.payments, 0) as payments,
        coalesce(daily_payments.paid_amount, 0) as paid_amount,
        sum(coalesce(daily_overdue_changes.change_amount, 0)) over (
            partition by days.zone_code
            order by days.local_date
            rows between unbounded preceding and current row
        ) as overdue_receivables,
        sum(coalesce(daily_late_changes.change_count, 0)) over (
            partition by days.zone_code
            order by days.local_date
            rows between unbounded preceding and current row
        ) as late_work_orders,
        case
            when days.local_date = days.as_of_local_date
                then coalesce(stock_outs.stock_out_positions, 0)
        end as stock_out_positions
    from days
    left join daily_orders
        on
            days.zone_code = daily_orders.zone_code
            and days.local_date = daily_orders.local_date
    left join daily_deliveries
        on
            days.zone_code = daily_deliveries.zone_code
            and days.local_date = daily_deliveries.local_date
    left join daily_invoices
        on
            days.zone_code = daily_invoices.zone_code
            and days.local_date = daily_invoices.local_date
    left join daily_payments
        on
            days.zone_code = daily_payments.zone_code
            and days.local_date = daily_payments.local_date
    left join daily_overdue_changes
        on
            days.zone_code = daily_overdue_changes.zone_code
            and days.local_date = daily_overdue_changes.local_date
    left join daily_late_changes
        on
            days.zone_code = daily_late_changes.zone_code
            and days.local_date = daily_late_changes.local_date
    left join stock_outs
        on days.zone_code = stock_outs.zone_code
),

company_days as (
    select
        local_date,
        sum(revenue) as company_revenue,
        {{ ratio('sum(on_time_shipments)', 'sum(delivered_shipments)') }}
            as company_on_time_rate
    from zone_days
    group by 1
),

final as (
    select
        zone_days.zone_code,
        zone_days.zone_time_zone,
        zone_days.zone_currency,
        zone_days.local_date,
        zone_days.is_working_day,
        zone_days.holiday_name,
        zone_days.orders,
        zone_days.order_lines,
        zone_days.ordered_quantity,
        zone_days.revenue,
        -- No revenue is expected on weekends and public holidays, so those
        -- days have no target, as on the zone dashboard.
        case
            when zone_days.is_working_day then zone_days.daily_revenue_target
        end as revenue_target,
        case
            when zone_days.is_working_day
                then {{ ratio('zone_days.revenue',
                              'zone_days.daily_revenue_target') }}
        end as revenue_vs_target,
        zone_days.delivered_shipments,
        zone_days.on_time_shipments,
        {{ ratio('zone_days.on_time_shipments',
                 'zone_days.delivered_shipments') }} as on_time_rate,
        zone_days.on_time_rate_target,
        zone_days.invoices,
        zone_days.invoiced_amount,
        zone_days.payments,
        zone_days.paid_amount,
        zone_days.overdue_receivables,
        zone_days.late_work_orders,
        zone_days.stock_out_positions,
        company_days.company_revenue,
        company_days.company_on_time_rate
    from zone_days
    inner join company_days
        on zone_days.local_date = company_days.local_date
)

select * from final
