with

source as (
    select * from {{ source('base_operation', 'shipments') }}
),

renamed as (
    select
        shipment_id,
        order_id,
        carrier_id,
        site_id,
        promised_at,
        shipped_at,
        delivered_at,
        updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
