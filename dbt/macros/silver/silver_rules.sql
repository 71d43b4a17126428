{#-
  Building blocks of the quality rules. Each intermediate model (models/silver/intermediate/)
  writes its table's rules as one `case` over these, in priority order, and ends with
  silver_versions(), so that every rejected row gets exactly one reason code:

    malformed_row, null_key, unparseable_timestamp, unparseable_number, negative_amount,
    unknown_order_status, unknown_payment_type, review_score_out_of_range   (row by row)
    conflicting_duplicate                                                   (within a batch)
    orphan                                                                  (against silver)
-#}

{#- The value of a column as it was landed (bronze keeps every raw string in _raw_record). -#}
{% macro silver_raw(column) -%}
    get_json_object(_raw_record, '$.{{ column }}')
{%- endmacro %}


{#- True when any key column was landed null, empty or blank. -#}
{% macro silver_blank_key(columns) -%}
    ({% for c in columns %}coalesce(trim({{ silver_raw(c) }}), '') = ''{{ ' or ' if not loop.last }}{% endfor %})
{%- endmacro %}


{#- True when a typed column failed to parse, or a required one is missing. -#}
{% macro silver_unparseable(columns, required=[]) -%}
    ({% for c in columns %}coalesce(array_contains(_parse_errors, '{{ c }}'), false){% if c in required %} or {{ c }} is null{% endif %}{{ ' or ' if not loop.last }}{% endfor %})
{%- endmacro %}


{#- A text value cleaned for silver: trimmed, empty -> null. -#}
{% macro silver_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}


{#- The key of a row as landed, as a JSON object (the quarantine's record_key). -#}
{% macro silver_record_key(columns) -%}
    to_json(named_struct({% for c in columns %}'{{ c }}', {{ silver_raw(c) }}{{ ', ' if not loop.last }}{% endfor %}))
{%- endmacro %}


{#- Bronze's lineage columns, carried through the checks. -#}
{% macro silver_bronze_columns() -%}
    _batch_id,
    _source_file,
    _ingested_at,
    _raw_record,
    _row_hash,
    _malformed,
    _parse_errors
{%- endmacro %}


{#-
  The CTEs after the row rules (`checked` has _row_reason): identical lines of a batch collapse
  into one (`distinct_rows`), and `versions` counts how many different valid rows each key has in
  its batch (_valid_versions > 1: a conflicting duplicate). Without key_columns (geolocation,
  many rows per key by design) no row conflicts.
-#}
{% macro silver_versions(checked, key_columns=none) %}
distinct_rows as (
    select *
    from (
        select
            *,
            row_number() over (
                partition by _batch_id, _row_hash order by _source_file, _ingested_at
            ) as _copy
        from {{ checked }}
    ) as copies
    where _copy = 1
),

versions as (
    select
        *,
        {%- if key_columns %}
        count(case when _row_reason is null then 1 end) over (
            partition by _batch_id, {{ key_columns | join(', ') }}
        ) as _valid_versions
        {%- else %}
        1 as _valid_versions
        {%- endif %}
    from distinct_rows
)
{% endmacro %}


{#- The final reason: the row rules first, then conflicts, then (children only) orphans. -#}
{% macro silver_reject_reason(orphan_condition=none) -%}
    coalesce(
        _row_reason,
        case when _valid_versions > 1 then {{ silver_reason('conflicting_duplicate') }} end
        {%- if orphan_condition %},
        case when {{ orphan_condition }} then {{ silver_reason('orphan') }} end
        {%- endif %}
    )
{%- endmacro %}


{#-
  The newest accepted version of each key: within a run the latest batch wins, and on an
  incremental run a version older than the one silver already holds is left out, so re-landing or
  re-checking an old batch never overwrites a newer one. Keys whose rows were all rejected do not
  appear, so they keep what silver had.
-#}
{% macro silver_latest_accepted(checked, key_columns) %}
select ranked.*
from (
    select
        *,
        row_number() over (
            partition by {{ key_columns | join(', ') }} order by _batch_id desc
        ) as _version_rank
    from {{ checked }}
    where _reject_reason is null
) as ranked
{%- if is_incremental() %}
left anti join {{ this }} as current_version
    on {% for k in key_columns %}current_version.{{ k }} = ranked.{{ k }} and {% endfor -%}
    current_version._batch_id > ranked._batch_id
{%- endif %}
where ranked._version_rank = 1
{% endmacro %}


{#- Lineage columns of every silver table. -#}
{% macro silver_lineage_columns() -%}
    _batch_id,
    _row_hash,
    _source_file,
    _ingested_at,
    {{ silver_run_columns() }}
{%- endmacro %}


{#- When and by which dbt invocation a row was last merged (models use _invocation_id to find
    what changed in this run). -#}
{% macro silver_run_columns() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp_ntz) as _loaded_at,
    '{{ invocation_id }}' as _invocation_id
{%- endmacro %}


{#- The values a coded column may take (Olist's own vocabularies): their one home is the vars
    of dbt_project.yml. -#}
{% macro silver_order_statuses() %}
    {{ return(var('order_statuses')) }}
{% endmacro %}


{% macro silver_payment_types() %}
    {{ return(var('payment_types')) }}
{% endmacro %}


{#- The rejected rows of one intermediate model, in the quarantine's columns. -#}
{% macro silver_rejected(table_name, checked) %}
    select
        '{{ table_name }}' as table_name,
        _record_key as record_key,
        _reject_reason as reason,
        _batch_id,
        _source_file,
        _ingested_at,
        _raw_record,
        _row_hash
    from {{ checked }}
    where _reject_reason is not null
{% endmacro %}


{#- Schema evolution: the columns bronze holds for a landing table beyond its declared ones
    (var('landing_columns')), which a later file added. Silver carries them, as strings, after its
    own columns; the rows of earlier batches have null there. Empty while dbt parses. -#}
{% macro silver_added_columns(landing_table) %}
  {%- set bronze = source('bronze', 'brz_' ~ landing_table) -%}
  {%- if not execute -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set declared = var('landing_columns')[landing_table] | map(attribute=0) | list -%}
  {%- set added = [] -%}
  {%- for column in adapter.get_columns_in_relation(bronze) -%}
    {%- if column.name not in declared and not column.name.startswith('_') -%}
      {%- do added.append(column.name) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(added) }}
{% endmacro %}


{#- The added columns as select items, each followed by a comma: prefix ~ name, or null where
    `relation` (the silver table as it was before this run) does not have the column yet. -#}
{% macro silver_added_select(landing_table, prefix='', relation=none) %}
  {%- set present = none -%}
  {%- if relation is not none and execute -%}
    {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
  {%- endif -%}
  {%- for name in silver_added_columns(landing_table) %}
    {%- if present is none or name in present %}
        {{ prefix }}{{ name }},
    {%- else %}
        cast(null as string) as {{ name }},
    {%- endif %}
  {%- endfor %}
{% endmacro %}
