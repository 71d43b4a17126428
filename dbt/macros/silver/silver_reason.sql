{#- A quarantine reason code, as a SQL string literal, checked against the one list of codes
    (var('quarantine_reasons') in dbt_project.yml): a rule naming a code that is not there
    fails at compile time, before any row is written. -#}
{% macro silver_reason(code) -%}
    {%- if code not in var('quarantine_reasons') -%}
        {{ exceptions.raise_compiler_error(
            "unknown quarantine reason '" ~ code ~ "': add it to var('quarantine_reasons') "
            ~ "in dbt_project.yml") }}
    {%- endif -%}
    '{{ code }}'
{%- endmacro %}
