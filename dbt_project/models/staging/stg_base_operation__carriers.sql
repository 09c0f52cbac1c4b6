with

source as (
    select * from {{ source('base_operation', 'carriers') }}
),

renamed as (
    select
        carrier_id,
        carrier_name,
        updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
