{#- Rebuilt on every run (a complete, current picture; it is also the record of which bronze
    batches silver has processed, read back by silver_candidates). -#}
{{ config(materialized='table') }}

-- Per silver table and bronze batch. Each distinct bronze row (identical lines count once) is
-- exactly one of: quarantined (in the quarantine for this table and batch), current (the version
-- silver holds: same key, batch and row hash; for geolocation, its prefix's version comes from
-- this batch) or superseded (not quarantined, and silver holds its key from a later batch).
-- accepted_rows = current_rows + superseded_rows, so accepted_rows + quarantined_rows =
-- distinct_rows is the check that nothing was lost or counted twice. bronze_ingested_at is what
-- silver has processed: the next run's window starts after it.
with bronze_rows as (
    {{ silver_reconcile_bronze('fct_orders', source('bronze', 'brz_orders'), ['order_id']) }}
    union all
    {{ silver_reconcile_bronze('fct_order_items', source('bronze', 'brz_order_items'),
        ['order_id', 'order_item_id']) }}
    union all
    {{ silver_reconcile_bronze('fct_payments', source('bronze', 'brz_order_payments'),
        ['order_id', 'payment_sequential']) }}
    union all
    {{ silver_reconcile_bronze('fct_reviews', source('bronze', 'brz_order_reviews'),
        ['review_id']) }}
    union all
    {{ silver_reconcile_bronze('dim_customers', source('bronze', 'brz_customers'),
        ['customer_id']) }}
    union all
    {{ silver_reconcile_bronze('dim_sellers', source('bronze', 'brz_sellers'), ['seller_id']) }}
    union all
    {{ silver_reconcile_bronze('dim_products', source('bronze', 'brz_products'),
        ['product_id']) }}
    union all
    {{ silver_reconcile_bronze('dim_product_categories',
        source('bronze', 'brz_product_category_name_translation'), ['product_category_name']) }}
    union all
    {{ silver_reconcile_bronze('dim_geolocation', source('bronze', 'brz_geolocation'),
        ['geolocation_zip_code_prefix']) }}
),

held as (
    {{ silver_reconcile_held('fct_orders', ref('fct_orders'), ['order_id']) }}
    union all
    {{ silver_reconcile_held('fct_order_items', ref('fct_order_items'),
        ['order_id', 'order_item_id']) }}
    union all
    {{ silver_reconcile_held('fct_payments', ref('fct_payments'),
        ['order_id', 'payment_sequential']) }}
    union all
    {{ silver_reconcile_held('fct_reviews', ref('fct_reviews'), ['review_id']) }}
    union all
    {{ silver_reconcile_held('dim_customers', ref('dim_customers'), ['customer_id']) }}
    union all
    {{ silver_reconcile_held('dim_sellers', ref('dim_sellers'), ['seller_id']) }}
    union all
    {{ silver_reconcile_held('dim_products', ref('dim_products'), ['product_id']) }}
    union all
    {{ silver_reconcile_held('dim_product_categories', ref('dim_product_categories'),
        ['product_category_name']) }}
    union all
    {{ silver_reconcile_held('dim_geolocation', ref('dim_geolocation'),
        ['geolocation_zip_code_prefix'], match_hash=false) }}
),

quarantined as (
    select distinct table_name, _batch_id, {{ silver_row_digest('_row_hash') }} as row_digest
    from {{ ref('quarantine') }}
),

classified as (
    select
        b.table_name,
        b.source_table,
        b._batch_id,
        b.lines,
        b.ingested_at,
        q.row_digest is not null as is_quarantined,
        h._batch_id = b._batch_id
            and (h.row_digest = b.row_digest or (not h.match_hash and q.row_digest is null))
            as is_current,
        h._batch_id > b._batch_id and q.row_digest is null as is_superseded
    from bronze_rows as b
    left join held as h
        on b.table_name = h.table_name and b.record_key = h.record_key
    left join quarantined as q
        on b.table_name = q.table_name and b._batch_id = q._batch_id
        and b.row_digest = q.row_digest
),

final as (
    select
        table_name,
        source_table,
        _batch_id,
        sum(lines) as bronze_rows,
        count(*) as distinct_rows,
        count_if(is_current) + count_if(is_superseded) as accepted_rows,
        count_if(is_current) as current_rows,
        count_if(is_superseded) as superseded_rows,
        count_if(is_quarantined) as quarantined_rows,
        max(ingested_at) as bronze_ingested_at,
        {{ silver_run_columns() }}
    from classified
    group by table_name, source_table, _batch_id
)

select * from final
