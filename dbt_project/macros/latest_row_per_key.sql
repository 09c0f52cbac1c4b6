{#
    Select the latest version of each key from a landing table: the highest
    updated_at, then the latest _loaded_at. A landing table should hold one
    row per key, but a batch replayed or loaded twice must not duplicate it.
#}
{% macro latest_row_per_key(relation, key_columns) -%}
    select ranked.*
    from (
        select
            landed.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by landed.updated_at desc, landed._loaded_at desc
            ) as version_rank
        from {{ relation }} as landed
    ) as ranked
    where ranked.version_rank = 1
{%- endmacro %}
