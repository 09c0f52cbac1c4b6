with

source as (
    select * from {{ source('zone_context', 'zone_settings') }}
),

renamed as (
    select
        zone_code,
        zone_name,
        time_zone as zone_time_zone,
        currency as zone_currency,
        delivery_sla_days,
        daily_revenue_target,
        on_time_rate_target,
        loaded_at
    from source
)

select * from renamed
