{#- Use the configured schema as is (bronze, silver, gold) instead of dbt's <target>_<schema>. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
