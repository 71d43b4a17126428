{#-
  dbt's `where` config of a generic test, with one placeholder: __rows_of_this_build__ stands
  for "the rows this invocation wrote" (`_invocation_id = '<this invocation>'`) when the test
  runs inside the `dbt build` that merged them, and for every row otherwise (`dbt test`, or
  --vars '{silver_test_every_row: true}').

  Silver's tests (dbt_project.yml, data_tests: silver) use it: a daily build merges a day's rows
  into tables that hold years, and the rows it did not touch were checked by the build that
  wrote them. That holds for each of silver's rules: a key is merged, so a duplicate can only
  come from rows of one build (both stamped with it); a row rule reads one row; a relationship's
  parent (an order, customer, product, seller) is never deleted once accepted (silver deletes
  only released orphans, from the quarantine). --full-refresh and silver_reprocess stamp every
  row they rewrite, so they check them all.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if not where -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- if '__rows_of_this_build__' in where -%}
        {%- if flags.WHICH == 'build' and not var('silver_test_every_row', false) -%}
            {%- set this_build = "_invocation_id = '" ~ invocation_id ~ "'" -%}
        {%- else -%}
            {%- set this_build = 'true' -%}
        {%- endif -%}
        {%- set where = where | replace('__rows_of_this_build__', this_build) -%}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
{%- endmacro %}
