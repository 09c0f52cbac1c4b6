with

source as (
    {{ latest_row_per_key(
        source('base_operation', 'invoices'),
        ['invoice_id']
    ) }}
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
