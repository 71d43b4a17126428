{#- Rebuilt on every run (a complete, current picture; it is also the record of which bronze
    batches silver has processed, read back by silver_candidates). -#}
{{ config(materialized='table') }}

-- Per silver table and bronze batch: bronze rows, distinct rows, accepted (current or
-- superseded by a later batch) and quarantined. accepted_rows + quarantined_rows = distinct_rows.
with quarantine as (
    select * from {{ ref('quarantine') }}
),

reconciled as (
    {{ silver_reconcile('fct_orders', source('bronze', 'brz_orders'),
        ref('fct_orders'), 'quarantine', ['order_id']) }}
    union all
    {{ silver_reconcile('fct_order_items', source('bronze', 'brz_order_items'),
        ref('fct_order_items'), 'quarantine', ['order_id', 'order_item_id']) }}
    union all
    {{ silver_reconcile('fct_payments', source('bronze', 'brz_order_payments'),
        ref('fct_payments'), 'quarantine', ['order_id', 'payment_sequential']) }}
    union all
    {{ silver_reconcile('fct_reviews', source('bronze', 'brz_order_reviews'),
        ref('fct_reviews'), 'quarantine', ['review_id']) }}
    union all
    {{ silver_reconcile('dim_customers', source('bronze', 'brz_customers'),
        ref('dim_customers'), 'quarantine', ['customer_id']) }}
    union all
    {{ silver_reconcile('dim_sellers', source('bronze', 'brz_sellers'),
        ref('dim_sellers'), 'quarantine', ['seller_id']) }}
    union all
    {{ silver_reconcile('dim_products', source('bronze', 'brz_products'),
        ref('dim_products'), 'quarantine', ['product_id']) }}
    union all
    {{ silver_reconcile('dim_product_categories',
        source('bronze', 'brz_product_category_name_translation'),
        ref('dim_product_categories'), 'quarantine', ['product_category_name']) }}
    union all
    {{ silver_reconcile('dim_geolocation', source('bronze', 'brz_geolocation'),
        ref('dim_geolocation'), 'quarantine', ['geolocation_zip_code_prefix'],
        match_hash=false) }}
),

final as (
    select
        *,
        {{ silver_run_columns() }}
    from reconciled
)

select * from final
