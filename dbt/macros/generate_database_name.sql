{#- Gold lives in the serving catalog (+database: serving). dbt-spark parses the whole project as
    well and has no databases, so on Spark no node names one. -#}
{% macro generate_database_name(custom_database_name=none, node=none) -%}
    {%- if target.type == 'spark' -%}
        {{ return(none) }}
    {%- elif custom_database_name is none -%}
        {{ target.database }}
    {%- else -%}
        {{ custom_database_name | trim }}
    {%- endif -%}
{%- endmacro %}
