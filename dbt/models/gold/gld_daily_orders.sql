-- Orders placed, delivered and canceled per purchase day, with the day's paid value.
with orders as (
    select
        cast(order_purchase_timestamp as date) as order_date,
        order_status,
        coalesce(payment_total, 0) as payment_total
    from {{ ref('fct_orders') }}
),

flagged as (
    select
        *,
        order_status not in ('canceled', 'unavailable') as is_paid
    from orders
),

final as (
    select
        order_date,
        count(*) as orders_placed,
        count_if(order_status = 'delivered') as orders_delivered,
        count_if(order_status = 'canceled') as orders_canceled,
        round(coalesce(sum(case when is_paid then payment_total end), 0), 2) as payment_value,
        round(
            sum(case when is_paid then payment_total end) / nullif(count_if(is_paid), 0), 2
        ) as avg_ticket
    from flagged
    group by order_date
)

select * from final
