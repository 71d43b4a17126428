{#-
  The reconciliation's inputs, one select per silver table, all in the same columns so that the
  model classifies every table in one pass (one join, one aggregation, not nine):

  silver_reconcile_bronze: every distinct bronze row (identical lines once) with its key as one
    string, plus how many lines it had and when it was ingested;
  silver_reconcile_held: the key and version (batch, row digest) silver holds. Geolocation is
    aggregated per prefix, so it holds no row hash (match_hash false: a prefix's version comes
    from a batch, not from one row).

  Rows are told apart by silver_row_digest, a 64-bit digest of the row hash, not by the
  64-character hash itself: the reconciliation groups and joins every bronze row on every run,
  and its shuffles carry 8 bytes a row instead of 64 (bench/README.md has the gain). Two rows
  could only be confused if two different records of one key and batch shared a 64-bit digest.
-#}
{% macro silver_row_digest(row_hash) -%}
    xxhash64({{ row_hash }})
{%- endmacro %}


{% macro silver_key_string(key_columns, alias) -%}
    concat_ws('|', {% for k in key_columns %}coalesce(cast({{ alias }}.{{ k }} as string), ''){{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}


{% macro silver_reconcile_bronze(table_name, bronze, key_columns) %}
    select
        '{{ table_name }}' as table_name,
        '{{ bronze.identifier }}' as source_table,
        b._batch_id,
        {{ silver_row_digest('b._row_hash') }} as row_digest,
        {{ silver_key_string(key_columns, 'b') }} as record_key,
        count(*) as lines,
        max(b._ingested_at) as ingested_at
    from {{ bronze }} as b
    group by
        b._batch_id,
        {{ silver_row_digest('b._row_hash') }},
        {{ silver_key_string(key_columns, 'b') }}
{% endmacro %}


{% macro silver_reconcile_held(table_name, silver, key_columns, match_hash=true) %}
    select
        '{{ table_name }}' as table_name,
        {{ silver_key_string(key_columns, 's') }} as record_key,
        s._batch_id,
        {{ silver_row_digest('s._row_hash') if match_hash else 'cast(null as bigint)' }} as row_digest,
        {{ 'true' if match_hash else 'false' }} as match_hash
    from {{ silver }} as s
{% endmacro %}
