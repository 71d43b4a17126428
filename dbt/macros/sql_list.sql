{#- A SQL list literal of strings: ('a', 'b'). For values the project admits (vocabularies,
    batch ids checked against the loader's pattern), never for free text: nothing is escaped. -#}
{% macro sql_list(values) -%}
    ({% for v in values %}'{{ v }}'{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}


{#- `batch` when it is an id the loader admits (medallion.load: letters, digits, '_', '.' and '-',
    starting with a letter or digit), so it can go into a sql_list; anything else is refused
    rather than quoted, naming `where` it came from. -#}
{% macro checked_batch_id(batch, where) %}
  {%- if not modules.re.match('^[A-Za-z0-9][A-Za-z0-9_.-]*$', batch) -%}
    {{ exceptions.raise_compiler_error("unexpected batch id in " ~ where ~ ": " ~ batch) }}
  {%- endif -%}
  {{ return(batch) }}
{% endmacro %}
