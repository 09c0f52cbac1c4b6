with

carriers as (
    select * from {{ ref('stg_base_operation__carriers') }}
),

final as (
    select
        carrier_id,
        carrier_name
    from carriers
)

select * from final
