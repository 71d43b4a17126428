{{
    config(
        unique_key=['table_name', '_batch_id', '_row_hash'],
        post_hook=[
            "{{ silver_release_orphans() }}",
        ],
    )
}}

-- Every rejected bronze row (identical lines once), with the silver table it was meant for, its
-- key as landed, the reason code and the raw record. An orphan is checked again when its order
-- arrives (silver_candidates); every orphan still waiting, checked again or carried over unread,
-- is merged again (stamped with this run), and the post-hook removes the rest: those the same
-- run accepted.
with rejected as (
    {{ silver_rejected('fct_orders', ref('int_orders_checked')) }}
    union all
    {{ silver_rejected('fct_order_items', ref('int_order_items_checked')) }}
    union all
    {{ silver_rejected('fct_payments', ref('int_order_payments_checked')) }}
    union all
    {{ silver_rejected('fct_reviews', ref('int_order_reviews_checked')) }}
    union all
    {{ silver_rejected('dim_customers', ref('int_customers_checked')) }}
    union all
    {{ silver_rejected('dim_sellers', ref('int_sellers_checked')) }}
    union all
    {{ silver_rejected('dim_products', ref('int_products_checked')) }}
    union all
    {{ silver_rejected('dim_product_categories', ref('int_product_categories_checked')) }}
    union all
    {{ silver_rejected('dim_geolocation', ref('int_geolocation_checked')) }}
    {%- if is_incremental() %}
    union all
    {{ silver_waiting_orphans('fct_order_items', ref('int_order_items_checked')) }}
    union all
    {{ silver_waiting_orphans('fct_payments', ref('int_order_payments_checked')) }}
    union all
    {{ silver_waiting_orphans('fct_reviews', ref('int_order_reviews_checked')) }}
    {%- endif %}
),

final as (
    select
        *,
        {{ silver_run_columns() }}
    from rejected
)

select * from final
