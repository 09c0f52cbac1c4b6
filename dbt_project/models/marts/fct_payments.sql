{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='payment_id',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_rows_missing_from(
            ref('stg_base_operation__payments'), 'payment_id', ['payment_id']
        ) }}",
    )
}}
{# append_new_columns: payments are immutable once received, so a new column
   is added without rebuilding history; a full refresh fills old rows. #}

with

{% if is_incremental() %}
{#
    As in fct_order_lines: only the payments whose own row, invoice, customer
    or zone was loaded after the cutoff are joined and localized.
#}
changed_zones as (
    select zone_code from {{ ref('stg_zone_context__zone_settings') }}
    where loaded_at > {{ incremental_cutoff() }}
),

changed_customers as (
    select customer_id from {{ ref('stg_base_operation__customers') }}
    where
        loaded_at > {{ incremental_cutoff() }}
        or zone_code in (select changed_zones.zone_code from changed_zones)
),

changed_invoices as (
    select invoice_id from {{ ref('stg_base_operation__invoices') }}
    where
        loaded_at > {{ incremental_cutoff() }}
        or customer_id in (
            select changed_customers.customer_id from changed_customers
        )
),
{% endif %}

payments as (
    select * from {{ ref('stg_base_operation__payments') }}
    {% if is_incremental() %}
    where
        loaded_at > {{ incremental_cutoff() }}
        or invoice_id in (
            select changed_invoices.invoice_id from changed_invoices
        )
    {% endif %}
),

invoices as (
    select * from {{ ref('stg_base_operation__invoices') }}
),

customers as (
    select * from {{ ref('stg_base_operation__customers') }}
),

zones as (
    select * from {{ ref('stg_zone_context__zone_settings') }}
),

joined as (
    select
        payments.payment_id,
        payments.invoice_id,
        invoices.customer_id,
        customers.zone_code,
        zones.zone_time_zone,
        zones.zone_currency,
        payments.payment_method,
        invoices.currency,
        payments.amount,
        payments.paid_at,
        {{ to_local('payments.paid_at', 'zones.zone_time_zone') }}
            as paid_at_local,
        {{ to_local_date('payments.paid_at', 'zones.zone_time_zone') }}
            as paid_local_date,
        invoices.due_date,
        payments.updated_at,
        greatest(
            payments.loaded_at,
            invoices.loaded_at,
            customers.loaded_at,
            zones.loaded_at
        ) as loaded_at
    from payments
    inner join invoices
        on payments.invoice_id = invoices.invoice_id
    inner join customers
        on invoices.customer_id = customers.customer_id
    inner join zones
        on customers.zone_code = zones.zone_code
),

final as (
    select
        payment_id,
        invoice_id,
        customer_id,
        zone_code,
        zone_time_zone,
        zone_currency,
        payment_method,
        currency,
        amount,
        paid_at,
        paid_at_local,
        paid_local_date,
        due_date,
        {{ days_between('due_date', 'paid_local_date') }}
            as days_after_due,
        updated_at,
        loaded_at
    from joined
    {% if is_incremental() %}
    where loaded_at > {{ incremental_cutoff() }}
    {% endif %}
)

select * from final
