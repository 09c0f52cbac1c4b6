{#
    Earliest loaded_at an incremental run re-reads: the latest loaded_at
    already in the model minus the lookback_days var. The cursor is the
    warehouse load time, never a business date, so one row dated 2099 cannot
    hold back later rows.
#}
{% macro incremental_cutoff(cursor_column='loaded_at') -%}
    (
        select
            coalesce(
                max({{ cursor_column }}),
                cast('1900-01-01 00:00:00+00' as timestamp with time zone)
            ) - interval '{{ var("lookback_days") }} days'
        from {{ this }}
    )
{%- endmacro %}
