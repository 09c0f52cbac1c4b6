{#
    Use the folder's schema name as is (staging, intermediate, marts) instead
    of dbt's default "<target schema>_<name>": the publish step and the zone
    readers look for these exact schema names.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
