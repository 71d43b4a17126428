{#-
  Which bronze rows a silver run looks at, and the silver state it reads to decide.

  A run takes, per bronze table, the batches that are new or were re-landed since silver last
  reconciled them (their max(_ingested_at) is newer than silver_reconciliation.bronze_ingested_at),
  plus, for the tables whose rows need an order (items, payments, reviews), the rows quarantined
  as orphans in the batches holding an orphan whose order this run accepts: only an order's
  arrival can release an orphan, so a run reads no batch for the orphans still waiting (the
  quarantine carries those over, silver_waiting_orphans). silver_reconciliation is the last
  model of the run, so the window is the same for every model of one run, and a run that fails
  part-way leaves it untouched: the next run takes the same batches again (every merge is
  idempotent).

  The batches are looked up first (silver_pending_batches) and the rows read with them as
  literals, so that Iceberg skips the data files of every other batch (each load writes its own
  files, whose _batch_id bounds then exclude them): a day's run reads that day's files, not the
  history. A join on the lookup instead would read every file of the table. The lookup is the
  one place the window is decided; the model's SQL only applies it.

  The lookup reads no bronze data either: bronze is partitioned by _batch_id, and the newest
  _ingested_at of a batch is the largest upper bound of its data files' column statistics
  (Iceberg's `files` metadata table, read from the manifests). Rows are only ever removed from
  bronze together with their batch's newer rows being added (delete+insert per batch), so the
  bound is the newest row's value. A data file without that statistic makes its batch pending:
  taking a batch again is harmless, skipping one is not.

  Everything is taken when the target table or the reconciliation does not exist yet, on
  --full-refresh, or with --vars '{silver_reprocess: true}'.
-#}

{#- The relation of a silver table as it is before this model runs, or none if it does not exist.
    Only for the state silver reads back (window, orphans): lineage between models uses ref(). -#}
{% macro silver_existing_relation(identifier) %}
  {%- if not execute -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(adapter.get_relation(database=none, schema=model.schema, identifier=identifier)) }}
{% endmacro %}


{#- The batches of `bronze` a run takes for `table_name`, looked up before the model's SQL is
    written: {'pending': new or re-landed batches, taken whole; 'orphaned': batches holding a row
    quarantined as an orphan whose order `orders` (int_orders_checked) accepts in this run, of
    which only the orphans are taken; none without `orders`}. Each id is checked
    (checked_batch_id) before it goes into SQL. -#}
{% macro silver_pending_batches(bronze, table_name, reconciliation, quarantine, orders=none) %}
  {%- set found = {'pending': [], 'orphaned': []} -%}
  {%- if not execute -%}
    {{ return(found) }}
  {%- endif -%}
  {%- set sql -%}
    select landed._batch_id, 'pending' as kind
    from (
        select
            partition._batch_id as _batch_id,
            max(readable_metrics._ingested_at.upper_bound) as ingested_at,
            count_if(readable_metrics._ingested_at.upper_bound is null) as files_without_bounds
        from {{ bronze }}.files
        where content = 0
        group by partition._batch_id
    ) as landed
    left join {{ reconciliation }} as seen
        on seen.table_name = '{{ table_name }}' and seen._batch_id = landed._batch_id
    where seen._batch_id is null
        or landed.files_without_bounds > 0
        or landed.ingested_at > seen.bronze_ingested_at
    {%- if quarantine is not none and orders is not none %}
    union
    select distinct waiting._batch_id, 'orphaned' as kind
    from {{ quarantine }} as waiting
    left semi join {{ orders }} as arrived
        on get_json_object(waiting._raw_record, '$.order_id') = arrived.order_id
        and arrived._reject_reason is null
    where waiting.table_name = '{{ table_name }}' and waiting.reason = 'orphan'
    {%- endif %}
  {%- endset -%}
  {%- for batch, kind in run_query(sql).rows -%}
    {%- do found[kind].append(checked_batch_id(batch, bronze)) -%}
  {%- endfor -%}
  {{ return({'pending': found.pending | sort, 'orphaned': found.orphaned | sort}) }}
{% endmacro %}


{#- The candidate rows of `bronze` for `table_name`. A table whose rows need an order passes
    `orders` (ref('int_orders_checked')), so that the orphans an arriving order releases are
    checked again. -#}
{% macro silver_candidates(bronze, table_name, orders=none) %}
{%- set reconciliation = silver_existing_relation('silver_reconciliation') -%}
{%- set target = silver_existing_relation(table_name) -%}
{%- set quarantine = silver_existing_relation('quarantine') -%}
{%- set everything = reconciliation is none or target is none or flags.FULL_REFRESH
    or var('silver_reprocess', false) -%}
select bronze.*
from {{ bronze }} as bronze
{%- if not everything %}
{%- set found = silver_pending_batches(bronze, table_name, reconciliation, quarantine, orders) %}
{%- set batches = (found.pending + found.orphaned) | unique | sort %}
{%- if found.orphaned %}
left join (
    select distinct _batch_id, _row_hash
    from {{ quarantine }}
    where table_name = '{{ table_name }}' and reason = 'orphan'
        and _batch_id in {{ sql_list(found.orphaned) }}
) as orphans
    on bronze._batch_id = orphans._batch_id and bronze._row_hash = orphans._row_hash
{%- endif %}
{%- if batches %}
where bronze._batch_id in {{ sql_list(batches) }}
    and (
        {%- if found.pending %}
        bronze._batch_id in {{ sql_list(found.pending) }}
        {%- else %}
        false
        {%- endif %}
        {%- if found.orphaned %}
        or orphans._row_hash is not null
        {%- endif %}
    )
{%- else %}
where false
{%- endif %}
{%- endif %}
{% endmacro %}


{#- The quarantine's orphans of `table_name` in the batches this run did not read (none of their
    rows is in `checked`, the table's intermediate model: the batch is neither pending nor holds
    an orphan whose order arrived). They still wait, so they are carried over as they are and
    stamped with this run, like the orphans it checked again and found still orphaned. In the
    quarantine's columns (silver_rejected); only in the quarantine's incremental runs. -#}
{% macro silver_waiting_orphans(table_name, checked) %}
    select
        waiting.table_name,
        waiting.record_key,
        waiting.reason,
        waiting._batch_id,
        waiting._source_file,
        waiting._ingested_at,
        waiting._raw_record,
        waiting._row_hash
    from {{ this }} as waiting
    left anti join (select distinct _batch_id from {{ checked }}) as taken
        on waiting._batch_id = taken._batch_id
    where waiting.table_name = '{{ table_name }}' and waiting.reason = 'orphan'
{% endmacro %}


{#- The orders a child row may belong to: those already in silver plus those this run accepts
    (fct_orders is merged after its children, because it sums their payments and reviews).
    Distinct: a run over several batches accepts an order once per batch that updates it, and
    children joined to the duplicates would be counted twice. -#}
{% macro silver_known_orders() %}
{%- set existing = silver_existing_relation('fct_orders') -%}
select distinct order_id from {{ ref('int_orders_checked') }} where _reject_reason is null
{%- if existing is not none %}
union
select order_id from {{ existing }}
{%- endif %}
{% endmacro %}


{#- quarantine's post-hook: the run merged again every orphan still waiting (checked again, or
    carried over unread), so an orphan it did not merge again was accepted (its order arrived) or
    is gone with its re-landed batch, and leaves the quarantine. -#}
{% macro silver_release_orphans() %}
delete from {{ this }}
where reason = 'orphan' and _invocation_id <> '{{ invocation_id }}'
{% endmacro %}
