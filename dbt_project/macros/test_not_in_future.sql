{#
    Fails on every row whose date or instant lies after the run time plus a
    tolerance (default 1 day, for clocks and time zones ahead of UTC): a
    source clock or a typo such as 2099 would otherwise distort every KPI.
#}
{% test not_in_future(model, column_name, tolerance_days=1) %}
    select {{ column_name }} as future_value
    from {{ model }}
    where
        cast({{ column_name }} as timestamp with time zone)
        > current_timestamp
        + interval '{{ tolerance_days }} days'
{% endtest %}
