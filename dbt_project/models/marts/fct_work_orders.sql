with

work_orders as (
    select * from {{ ref('stg_base_operation__production_orders') }}
),

sites as (
    select * from {{ ref('stg_base_operation__sites') }}
),

products as (
    select * from {{ ref('stg_base_operation__products') }}
),

zones as (
    select * from {{ ref('stg_zone_context__zone_settings') }}
),

localized as (
    select
        work_orders.*,
        sites.zone_code,
        zones.zone_time_zone,
        zones.zone_currency,
        products.family as product_family,
        {{ to_local_date('work_orders.actual_start_at',
                         'zones.zone_time_zone') }} as actual_start_local_date,
        {{ to_local_date('work_orders.actual_end_at',
                         'zones.zone_time_zone') }} as actual_end_local_date,
        {{ to_local_date(as_of_timestamp(), 'zones.zone_time_zone') }}
            as as_of_local_date
    from work_orders
    inner join sites
        on work_orders.site_id = sites.site_id
    inner join zones
        on sites.zone_code = zones.zone_code
    left join products
        on work_orders.product_id = products.product_id
),

timed as (
    select
        *,
        {{ days_between('actual_start_local_date', 'as_of_local_date') }}
        + 1 as elapsed_days
    from localized
),

{#
    An order in progress is expected to finish when, at the pace observed
    since its start (produced units per elapsed day, start day included),
    the planned quantity is reached.
#}
projected as (
    select
        *,
        case
            when work_order_status = 'cancelled' then null
            when actual_end_local_date is not null then actual_end_local_date
            when
                actual_start_local_date is not null and produced_quantity > 0
                then {{ add_days(
                    'actual_start_local_date',
                    'cast(ceil(cast(elapsed_days as decimal(18, 6))'
                    ~ ' * planned_quantity / produced_quantity) as integer)'
                    ~ ' - 1') }}
            else planned_end_date
        end as expected_completion_date
    from timed
),

final as (
    select
        work_order_id,
        zone_code,
        zone_time_zone,
        zone_currency,
        site_id,
        product_id,
        product_family,
        work_order_status,
        planned_quantity,
        produced_quantity,
        cast(
            round(
                100 * cast(produced_quantity as decimal(18, 6))
                / nullif(planned_quantity, 0),
                1
            ) as decimal(8, 1)
        ) as progress_pct,
        planned_start_date,
        planned_end_date,
        actual_start_at,
        actual_end_at,
        actual_start_local_date,
        actual_end_local_date,
        expected_completion_date,
        as_of_local_date,
        greatest(planned_quantity - produced_quantity, 0)
            as remaining_quantity,
        coalesce(
            work_order_status <> 'cancelled'
            and (
                expected_completion_date > planned_end_date
                or (
                    actual_end_local_date is null
                    and planned_end_date < as_of_local_date
                )
            ),
            false
        ) as is_late
    from projected
)

select * from final
