with

source as (
    select * from {{ source('zone_context', 'zone_calendar') }}
),

renamed as (
    select
        zone_code,
        calendar_date,
        iso_year,
        iso_week,
        week_start_date,
        is_public_holiday,
        holiday_name,
        is_working_day,
        working_day_number
    from source
)

select * from renamed
