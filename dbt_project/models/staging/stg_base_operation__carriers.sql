with

source as (
    {{ latest_row_per_key(
        source('base_operation', 'carriers'),
        ['carrier_id']
    ) }}
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
