{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='invoice_id',
        on_schema_change='sync_all_columns',
        post_hook="{{ delete_rows_missing_from(
            ref('stg_base_operation__invoices'), 'invoice_id', ['invoice_id']
        ) }}",
    )
}}
{#
    sync_all_columns: open invoices are recomputed on every run, so a changed
    column list is applied to the table instead of stopping the run; a full
    refresh fills settled invoices.
#}

with

payments as (
    select * from {{ ref('stg_base_operation__payments') }}
),

customers as (
    select * from {{ ref('stg_base_operation__customers') }}
),

zones as (
    select * from {{ ref('stg_zone_context__zone_settings') }}
),

paid as (
    select
        invoice_id,
        sum(amount) as paid_amount,
        max(loaded_at) as loaded_at
    from payments
    group by invoice_id
),

{% if is_incremental() %}
{#
    Besides the rows loaded since the cutoff, two kinds of built invoices are
    recomputed. Those whose payments no longer add up to their amount paid,
    because a deleted or moved payment leaves no newer load behind. And open
    ones whose zone has reached a new local date, because days overdue grow
    each day without any change in the source.
#}
local_dates as (
    select distinct
        zone_time_zone,
        {{ to_local_date(as_of_timestamp(), 'zone_time_zone') }}
            as as_of_local_date
    from zones
),

recomputed as (
    select built.invoice_id
    from {{ this }} as built
    left join paid
        on built.invoice_id = paid.invoice_id
    left join local_dates
        on built.zone_time_zone = local_dates.zone_time_zone
    where
        built.paid_amount <> coalesce(paid.paid_amount, 0)
        or (
            built.outstanding_amount > 0
            and built.as_of_local_date <> local_dates.as_of_local_date
        )
),

changed_customers as (
    select customer_id from customers
    where
        loaded_at > {{ incremental_cutoff() }}
        or zone_code in (
            select zones.zone_code from zones
            where zones.loaded_at > {{ incremental_cutoff() }}
        )
),
{% endif %}

invoices as (
    select * from {{ ref('stg_base_operation__invoices') }}
    {% if is_incremental() %}
    {#
        The invoices the filter in changed can keep, so that the join below
        reads and localizes those only (as in fct_order_lines).
    #}
    where
        loaded_at > {{ incremental_cutoff() }}
        or customer_id in (
            select changed_customers.customer_id from changed_customers
        )
        or invoice_id in (
            select paid.invoice_id from paid
            where paid.loaded_at > {{ incremental_cutoff() }}
        )
        or invoice_id in (select recomputed.invoice_id from recomputed)
    {% endif %}
),

joined as (
    select
        invoices.*,
        customers.zone_code,
        zones.zone_time_zone,
        zones.zone_currency,
        coalesce(paid.paid_amount, 0) as paid_amount,
        greatest(
            invoices.loaded_at,
            customers.loaded_at,
            zones.loaded_at,
            coalesce(paid.loaded_at, invoices.loaded_at)
        ) as row_loaded_at,
        {{ to_local_date(as_of_timestamp(), 'zones.zone_time_zone') }}
            as as_of_local_date
    from invoices
    inner join customers
        on invoices.customer_id = customers.customer_id
    inner join zones
        on customers.zone_code = zones.zone_code
    left join paid
        on invoices.invoice_id = paid.invoice_id
),

changed as (
    select * from joined
    {% if is_incremental() %}
    where
        row_loaded_at > {{ incremental_cutoff() }}
        or invoice_id in (select recomputed.invoice_id from recomputed)
    {% endif %}
),

balanced as (
    select
        *,
        case
            when invoice_status = 'cancelled' then 0
            else greatest(amount - paid_amount, 0)
        end as outstanding_amount
    from changed
),

aged as (
    select
        *,
        case
            when outstanding_amount > 0 and due_date < as_of_local_date
                then {{ days_between('due_date', 'as_of_local_date') }}
            else 0
        end as days_overdue
    from balanced
),

final as (
    select
        invoice_id,
        order_id,
        customer_id,
        zone_code,
        zone_time_zone,
        zone_currency,
        invoice_date,
        due_date,
        invoice_status,
        currency,
        amount,
        paid_amount,
        outstanding_amount,
        days_overdue,
        as_of_local_date,
        updated_at,
        row_loaded_at as loaded_at,
        outstanding_amount = 0 as is_paid,
        case
            when outstanding_amount = 0 then 'settled'
            when days_overdue = 0 then 'not_due'
            when days_overdue <= 30 then '1-30'
            when days_overdue <= 60 then '31-60'
            when days_overdue <= 90 then '61-90'
            else '90+'
        end as ageing_bucket
    from aged
)

select * from final
