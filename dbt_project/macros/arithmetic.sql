{#
    Date arithmetic that gives the same types on DuckDB and PostgreSQL:
    date + integer is a date and date - date an integer number of days on
    both (dbt's own dateadd returns a timestamp on PostgreSQL).
#}
{% macro add_days(date_expression, days_expression) -%}
    cast({{ date_expression }} + {{ days_expression }} as date)
{%- endmacro %}

{% macro days_between(start_date, end_date) -%}
    (cast({{ end_date }} as date) - cast({{ start_date }} as date))
{%- endmacro %}

{#
    numerator / denominator rounded to 4 decimals, NULL when the denominator
    is 0. Both sides go through DECIMAL because "/" truncates integers on
    PostgreSQL but not on DuckDB.
#}
{% macro ratio(numerator, denominator) -%}
    cast(round(
        cast({{ numerator }} as decimal(18, 6))
        / nullif(cast({{ denominator }} as decimal(18, 6)), 0),
        4
    ) as decimal(12, 4))
{%- endmacro %}

{#
    Text key made of several columns, so a merge can match rows whose key has
    a NULL part: '=' never matches NULL, which would insert the row again on
    every run.
#}
{% macro null_safe_key(columns) -%}
    {%- for column in columns -%}
        coalesce(cast({{ column }} as varchar), '<null>')
        {%- if not loop.last %} || '|' || {% endif -%}
    {%- endfor -%}
{%- endmacro %}
