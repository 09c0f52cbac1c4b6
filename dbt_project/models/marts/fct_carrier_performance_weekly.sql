with

shipments as (
    select * from {{ ref('fct_shipments') }}
),

carriers as (
    select * from {{ ref('dim_carriers') }}
),

calendar as (
    select * from {{ ref('stg_zone_context__zone_calendar') }}
),

delivered as (
    select
        shipments.zone_code,
        shipments.zone_time_zone,
        shipments.zone_currency,
        shipments.carrier_id,
        calendar.iso_year,
        calendar.iso_week,
        calendar.week_start_date,
        shipments.delay_days,
        case when shipments.is_on_time then 1 else 0 end as on_time
    from shipments
    inner join calendar
        on
            shipments.zone_code = calendar.zone_code
            and shipments.delivered_local_date = calendar.calendar_date
    where shipments.is_delivered
),

per_zone as (
    select
        zone_code,
        zone_time_zone,
        zone_currency,
        carrier_id,
        iso_year,
        iso_week,
        week_start_date,
        cast(round(avg(delay_days), 2) as decimal(10, 2)) as mean_delay_days,
        count(*) as delivered_shipments,
        sum(on_time) as on_time_shipments
    from delivered
    group by 1, 2, 3, 4, 5, 6, 7
),

per_carrier as (
    select
        carrier_id,
        iso_year,
        iso_week,
        {{ ratio('sum(on_time)', 'count(*)') }} as carrier_company_on_time_rate
    from delivered
    group by 1, 2, 3
),

per_week as (
    select
        iso_year,
        iso_week,
        {{ ratio('sum(on_time)', 'count(*)') }} as company_on_time_rate
    from delivered
    group by 1, 2
),

final as (
    select
        per_zone.zone_code,
        per_zone.zone_time_zone,
        per_zone.zone_currency,
        per_zone.carrier_id,
        carriers.carrier_name,
        per_zone.iso_year,
        per_zone.iso_week,
        per_zone.week_start_date,
        per_zone.delivered_shipments,
        per_zone.on_time_shipments,
        {{ ratio('per_zone.on_time_shipments',
                 'per_zone.delivered_shipments') }} as on_time_rate,
        per_zone.mean_delay_days,
        per_carrier.carrier_company_on_time_rate,
        per_week.company_on_time_rate
    from per_zone
    left join carriers
        on per_zone.carrier_id = carriers.carrier_id
    inner join per_carrier
        on
            per_zone.carrier_id = per_carrier.carrier_id
            and per_zone.iso_year = per_carrier.iso_year
            and per_zone.iso_week = per_carrier.iso_week
    inner join per_week
        on
            per_zone.iso_year = per_week.iso_year
            and per_zone.iso_week = per_week.iso_week
)

select * from final
