{#-
  The one bronze transformation, shared by every bronze model: read one landing table, keep every
  record, type each column, and flag what did not parse. The landing tables hold records, not
  lines (`medallion load` cuts them with a CSV parser): a malformed record (wrong field count,
  broken quoting) keeps its raw line in _raw_line, and _source_line says where it starts.

  The table's declared columns are var('landing_columns')[source_table]: [name, type] with type
  one of varchar, timestamp, decimal, integer, integer_lenient (a whole number that may be
  written "40.0"), double. A column a later file added to the landing table (schema evolution:
  `medallion load` adds it) follows them as varchar, null for the batches before it; it enters
  _raw_record only where it has a value, so the rows of earlier batches keep their _row_hash.

  Incremental runs take the batches that were landed or replaced since this table last saw them
  (the table of landed files says when each batch landed), or exactly var('batch') when set:
  the folder's strategy, batch_replace (bronze_batch_replace.sql), looks them up once and
  replaces exactly those batches' rows, reading only their landing partitions.
-#}
{% macro bronze_from_landing(source_table) %}
{{ config(landing_table=source_table) }}
{%- set columns = var('landing_columns')[source_table] -%}
{%- set names = columns | map(attribute=0) | list -%}
{%- set added = bronze_added_columns(source_table, names) -%}
with landed as (
    select
        {%- for name in names + added %}
        {{ name }},
        {%- endfor %}
        _extra_fields,
        _line,
        _raw_line,
        batch_id,
        "$path" as source_file,
        "$file_modified_time" as source_modified_at
    from {{ source('landing', source_table) }}
),

{#- An incremental run reads what the strategy selects from this (bronze_batch_replace); a
    first run, or a full refresh, reads every batch, or exactly var('batch') when set. -#}
{% if not is_incremental() and var('batch') is not none %}
selected as (
    select * from landed
    where batch_id = '{{ checked_batch_id(var('batch') | string, "var('batch')") }}'
),
{% else %}
selected as (
    select * from landed
),
{% endif %}

typed as (
    select
        {%- for name, type in columns %}
        {{ bronze_parse(name, type) }} as {{ name }},
        {%- endfor %}
        {%- for name in added %}
        {{ name }},
        {%- endfor %}
        batch_id as _batch_id,
        source_file as _source_file,
        try_cast(_line as integer) as _source_line,
        _raw_line,
        source_modified_at as _source_modified_at,
        cast(current_timestamp at time zone 'UTC' as timestamp(6)) as _ingested_at,
        json_format(cast(
            {%- if added %} map_concat({% endif %}map(
            array[{% for name in names %}'{{ name }}', {% endfor %}'_extra_fields'],
            array[{% for name in names %}{{ name }}, {% endfor %}_extra_fields]
        )
        {%- if added %}, map_filter(
            map(
                array[{% for name in added %}'{{ name }}'{{ ", " if not loop.last }}{% endfor %}],
                array[{% for name in added %}{{ name }}{{ ", " if not loop.last }}{% endfor %}]
            ),
            (k, v) -> v is not null
        )){% endif %} as json)) as _raw_record,
        (
            _raw_line is not null
            or _extra_fields is not null
            {%- for name in names %}
            or {{ name }} is null
            {%- endfor %}
        ) as _malformed,
        {%- set typed_columns = columns | rejectattr(1, 'equalto', 'varchar') | list %}
        cast(filter(
            array[
                {%- for name, type in typed_columns %}
                case
                    when nullif(trim({{ name }}), '') is not null
                        and {{ bronze_parse(name, type) }} is null
                        then '{{ name }}'
                end{{ "," if not loop.last }}
                {%- endfor %}
            ],
            x -> x is not null
        ) as array(varchar)
        ) as _parse_errors
    from selected
),

final as (
    select
        *,
        lower(to_hex(sha256(to_utf8(_raw_record)))) as _row_hash
    from typed
)

select * from final
{% endmacro %}


{#- One raw string column parsed to its bronze type; null when empty or unparseable. -#}
{% macro bronze_parse(name, type) -%}
    {%- set v = "nullif(trim(" ~ name ~ "), '')" -%}
    {%- if type == 'varchar' -%}
        {{ name }}
    {%- elif type == 'timestamp' -%}
        cast(try(date_parse({{ v }}, '%Y-%m-%d %H:%i:%s')) as timestamp(6))
    {%- elif type == 'decimal' -%}
        try_cast({{ v }} as decimal(12, 2))
    {%- elif type == 'integer' -%}
        try_cast({{ v }} as integer)
    {%- elif type == 'integer_lenient' -%}
        coalesce(
            try_cast({{ v }} as integer),
            case
                when try_cast({{ v }} as double) = floor(try_cast({{ v }} as double))
                    then try_cast(try_cast({{ v }} as double) as integer)
            end
        )
    {%- elif type == 'double' -%}
        try_cast({{ v }} as double)
    {%- else -%}
        {{ exceptions.raise_compiler_error("bronze_parse: unknown type " ~ type ~ " for " ~ name) }}
    {%- endif -%}
{%- endmacro %}


{#- The columns of the landing table beyond the declared ones and those `medallion load` adds to
    every landing table (_extra_fields, _line, _raw_line and the partition batch_id): the
    columns later files added, in the table's order. None while dbt parses. -#}
{% macro bronze_added_columns(source_table, declared) %}
  {%- if not execute -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set loader = ['_extra_fields', '_line', '_raw_line', 'batch_id'] -%}
  {%- set added = [] -%}
  {%- for column in adapter.get_columns_in_relation(source('landing', source_table)) -%}
    {%- if column.name not in declared and column.name not in loader -%}
      {%- do added.append(column.name) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(added) }}
{% endmacro %}


{#- The batches of landing table `source_table` a run takes: var('batch') when set, else those
    bronze has not seen (a landing partition without bronze rows) or that were landed again since
    bronze took them (their newest row in the table of landed files, source audit.landed_files, is
    no older than the newest _ingested_at bronze holds for them: one clock, Trino's). The lookup
    reads metadata and that table only: the partitions of the landing table and Iceberg's
    partition statistics of the bronze table, no record. Each id is checked (checked_batch_id)
    before it goes into SQL. -#}
{% macro bronze_pending_batches(source_table) %}
  {%- if not execute -%}
    {{ return([]) }}
  {%- endif -%}
  {%- if var('batch') is not none -%}
    {%- set found = [var('batch') | string] -%}
  {%- else -%}
    {%- set landing = source('landing', source_table) -%}
    {%- set sql -%}
      select landed.batch_id
      from {{ landing.database }}.{{ landing.schema }}."{{ landing.identifier }}$partitions" as landed
      left join (
          select batch_id, max(landed_at) as landed_at
          from {{ source('audit', 'landed_files') }}
          where table_name = '{{ landing.identifier }}'
          group by batch_id
      ) as logged on landed.batch_id = logged.batch_id
      left join (
          select partition._batch_id as batch_id, max(data._ingested_at.max) as ingested_at
          from {{ this.database }}.{{ this.schema }}."{{ this.identifier }}$partitions"
          group by partition._batch_id
      ) as seen on landed.batch_id = seen.batch_id
      where seen.batch_id is null or logged.landed_at >= seen.ingested_at
      order by landed.batch_id
    {%- endset -%}
    {%- set found = run_query(sql).columns[0].values() | list -%}
  {%- endif -%}
  {%- for batch in found -%}
    {%- do checked_batch_id(batch, 'landing.' ~ source_table) -%}
  {%- endfor -%}
  {{ return(found) }}
{% endmacro %}


{#- The freshness of a landing source (its loaded_at_query): when its newest file landed. -#}
{% macro landing_loaded_at(landing) -%}
    select max(landed_at) from {{ source('audit', 'landed_files') }}
    where table_name = '{{ landing.identifier }}'
{%- endmacro %}
