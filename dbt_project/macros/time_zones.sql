{#
    Local wall-clock time of a UTC instant in an IANA time zone, as a
    timestamp without time zone; DuckDB (ICU) and PostgreSQL read
    "at time zone" alike. Never cast a timestamptz straight to a date:
    the result would follow the session time zone.
#}
{% macro to_local(timestamp_expression, time_zone_expression) -%}
    ({{ timestamp_expression }} at time zone {{ time_zone_expression }})
{%- endmacro %}

{% macro to_local_date(timestamp_expression, time_zone_expression) -%}
    cast({{ to_local(timestamp_expression, time_zone_expression) }} as date)
{%- endmacro %}

{# The instant "now" stands for: the as_of var when set, else the run time. #}
{% macro as_of_timestamp() -%}
    {%- if var('as_of') -%}
        cast('{{ var("as_of") }}' as timestamp with time zone)
    {%- else -%}
        current_timestamp
    {%- endif -%}
{%- endmacro %}
