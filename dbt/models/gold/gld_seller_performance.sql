-- Per seller, over the delivered orders that hold the seller's items.
with orders as (
    select
        order_id,
        review_score,
        coalesce(order_delivered_customer_date > order_estimated_delivery_date, false) as is_late
    from {{ ref('fct_orders') }}
    where order_status = 'delivered'
),

items as (
    select order_id, seller_id, price, freight_value
    from {{ ref('fct_order_items') }}
),

seller_orders as (
    select
        i.seller_id,
        i.order_id,
        count(*) as items,
        sum(i.price + i.freight_value) as revenue,
        max(o.review_score) as review_score,
        bool_or(o.is_late) as is_late
    from items as i
    inner join orders as o on i.order_id = o.order_id
    group by i.seller_id, i.order_id
),

final as (
    select
        seller_id,
        count(*) as orders,
        sum(items) as items,
        round(sum(revenue), 2) as revenue,
        round(
            cast(sum(review_score) as decimal(20, 4)) / nullif(count(review_score), 0), 2
        ) as avg_review_score,
        round(cast(count_if(is_late) as decimal(20, 4)) / count(*), 4) as late_delivery_rate
    from seller_orders
    group by seller_id
)

select * from final
