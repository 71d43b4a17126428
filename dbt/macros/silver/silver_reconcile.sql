{#-
  One silver table's reconciliation rows, per bronze batch. Each distinct bronze row (identical
  lines count once) should be exactly one of:
    quarantined  - in the quarantine for this table and batch;
    current      - the version silver holds (same key, batch and row hash; for geolocation,
                   whose rows are aggregated per prefix: its prefix's version comes from this batch);
    superseded   - not quarantined, and silver holds a version of its key from a later batch.
  accepted = current + superseded, so accepted + quarantined = distinct rows is the check that
  nothing was lost or counted twice. bronze_ingested_at is what silver has reconciled: the next
  run's window starts after it.
-#}
{% macro silver_reconcile(table_name, bronze, silver, quarantine, key_columns, match_hash=true) %}
    select
        '{{ table_name }}' as table_name,
        '{{ bronze.identifier }}' as source_table,
        landed._batch_id,
        landed.bronze_rows,
        landed.distinct_rows,
        coalesce(classified.current_rows + classified.superseded_rows, 0) as accepted_rows,
        coalesce(classified.current_rows, 0) as current_rows,
        coalesce(classified.superseded_rows, 0) as superseded_rows,
        coalesce(classified.quarantined_rows, 0) as quarantined_rows,
        landed.bronze_ingested_at
    from (
        select
            _batch_id,
            count(*) as bronze_rows,
            count(distinct _row_hash) as distinct_rows,
            max(_ingested_at) as bronze_ingested_at
        from {{ bronze }}
        group by _batch_id
    ) as landed
    left join (
        select
            landed_row._batch_id,
            count_if(
                {%- if match_hash %}
                held._batch_id = landed_row._batch_id and held._row_hash = landed_row._row_hash
                {%- else %}
                held._batch_id = landed_row._batch_id and jailed._row_hash is null
                {%- endif %}
            ) as current_rows,
            count_if(held._batch_id > landed_row._batch_id and jailed._row_hash is null)
                as superseded_rows,
            count_if(jailed._row_hash is not null) as quarantined_rows
        from (
            select distinct _batch_id, _row_hash, {{ key_columns | join(', ') }}
            from {{ bronze }}
        ) as landed_row
        left join {{ silver }} as held
            on {% for k in key_columns %}held.{{ k }} = landed_row.{{ k }}{{ ' and ' if not loop.last }}{% endfor %}
        left join (
            select distinct _batch_id, _row_hash
            from {{ quarantine }}
            where table_name = '{{ table_name }}'
        ) as jailed
            on jailed._batch_id = landed_row._batch_id and jailed._row_hash = landed_row._row_hash
        group by landed_row._batch_id
    ) as classified
        on landed._batch_id = classified._batch_id
{% endmacro %}
