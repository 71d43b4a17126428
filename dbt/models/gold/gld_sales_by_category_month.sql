-- Revenue of delivered orders per purchase month and product category.
with orders as (
    select order_id, order_purchase_timestamp
    from {{ ref('fct_orders') }}
    where order_status = 'delivered'
),

items as (
    select order_id, product_id, price, freight_value
    from {{ ref('fct_order_items') }}
),

products as (
    select product_id, category
    from {{ ref('dim_products') }}
),

delivered_items as (
    select
        cast(date_trunc('month', o.order_purchase_timestamp) as date) as month,
        coalesce(p.category, 'unknown') as category,
        i.order_id,
        i.price + i.freight_value as item_value
    from items as i
    inner join orders as o on i.order_id = o.order_id
    left join products as p on i.product_id = p.product_id
),

final as (
    select
        month,
        category,
        count(distinct order_id) as orders,
        count(*) as items,
        round(sum(item_value), 2) as revenue,
        round(sum(item_value) / count(distinct order_id), 2) as avg_order_value
    from delivered_items
    group by month, category
)

select * from final
