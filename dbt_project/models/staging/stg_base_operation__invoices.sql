with

source as (
    select * from {{ source('base_operation', 'invoices') }}
),

renamed as (
    select
        invoice_id,
        order_id,
        customer_id,
        invoice_date,
        due_date,
        amount,
        currency,
        invoice_status,
        updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
