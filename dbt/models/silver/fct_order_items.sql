{{ config(unique_key=['order_id', 'order_item_id']) }}

with checked as (
    select * from {{ ref('int_order_items_checked') }}
),

latest as (
    {{ silver_latest_accepted('checked', ['order_id', 'order_item_id']) }}
),

final as (
    select
        order_id,
        order_item_id,
        product_id,
        seller_id,
        shipping_limit_date,
        price,
        freight_value,
        price + freight_value as item_value,
        {{- silver_added_select('order_items') }}
        {{ silver_lineage_columns() }}
    from latest
)

select * from final
