-- Delivery speed and lateness per customer state, over delivered orders with a delivery date.
with orders as (
    select
        customer_id,
        order_purchase_timestamp,
        order_delivered_customer_date,
        order_estimated_delivery_date
    from {{ ref('fct_orders') }}
    where order_status = 'delivered' and order_delivered_customer_date is not null
),

customers as (
    select customer_id, customer_state
    from {{ ref('dim_customers') }}
),

deliveries as (
    select
        coalesce(c.customer_state, 'unknown') as customer_state,
        -- whole days, floored; in double, as a decimal literal would round the quotient first
        floor(
            cast(
                date_diff('second', o.order_purchase_timestamp, o.order_delivered_customer_date)
                as double
            ) / 86400
        ) as delivery_days,
        o.order_delivered_customer_date > o.order_estimated_delivery_date as is_late
    from orders as o
    left join customers as c on o.customer_id = c.customer_id
),

final as (
    select
        customer_state,
        count(*) as delivered_orders,
        round(cast(sum(delivery_days) as decimal(20, 2)) / count(*), 2) as avg_delivery_days,
        round(cast(count_if(is_late) as decimal(20, 4)) / count(*), 4) as late_delivery_rate
    from deliveries
    group by customer_state
)

select * from final
