-- Payments per purchase month and payment type, over orders neither canceled nor unavailable.
with orders as (
    select order_id, order_purchase_timestamp
    from {{ ref('fct_orders') }}
    where order_status not in ('canceled', 'unavailable')
),

payments as (
    select order_id, payment_type, payment_installments, payment_value
    from {{ ref('fct_payments') }}
),

joined as (
    select
        cast(date_trunc('month', o.order_purchase_timestamp) as date) as month,
        p.payment_type,
        p.order_id,
        p.payment_installments,
        p.payment_value
    from payments as p
    inner join orders as o on p.order_id = o.order_id
),

final as (
    select
        month,
        payment_type,
        count(*) as payments,
        count(distinct order_id) as orders,
        round(sum(payment_value), 2) as payment_value,
        round(cast(sum(payment_installments) as decimal(20, 4)) / count(*), 2) as avg_installments
    from joined
    group by month, payment_type
)

select * from final
