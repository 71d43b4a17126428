{#-
  Bronze's incremental strategy, batch_replace: replace the rows of the batches a run takes.

  dbt-trino's incremental materialization makes the model's query a view (a strategy without a
  unique_key gets a view, not a table: nothing is written twice) and hands it here. The batches
  are looked up once (bronze_pending_batches: those landed or replaced since bronze took them,
  or var('batch')), and both statements name them as literals:

  - the delete removes exactly their rows, whatever the landing holds right now; on identity
    partitions with literal values Trino drops whole files, reading none;
  - the insert reads the view restricted to them, a filter Trino pushes down to the landing
    table's partition column, so only their partitions are read.

  A batch replaced while the insert read it is read again by the next run: its newest landing is
  then no older than what bronze stamped. With no batch to take, the insert adds nothing.
  The landing table is the model's config landing_table (bronze_from_landing sets it).
-#}
{% macro get_incremental_batch_replace_sql(arg_dict) %}
  {%- set target = arg_dict['target_relation'] -%}
  {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
  {%- set batches = bronze_pending_batches(config.require('landing_table')) -%}
  {%- if batches %}
    delete from {{ target }} where _batch_id in {{ sql_list(batches) }};
  {% endif %}
    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ arg_dict['temp_relation'] }}
    where {{ '_batch_id in ' ~ sql_list(batches) if batches else 'false' }}
{% endmacro %}
