with

source as (
    select * from {{ source('base_operation', 'payments') }}
),

renamed as (
    select
        payment_id,
        invoice_id,
        amount,
        payment_method,
        paid_at,
        updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
