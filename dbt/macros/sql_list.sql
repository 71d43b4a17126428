{#- A SQL list literal of strings: ('a', 'b'). For values the project admits (vocabularies,
    batch ids checked against the loader's pattern), never for free text: nothing is escaped. -#}
{% macro sql_list(values) -%}
    ({% for v in values %}'{{ v }}'{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
