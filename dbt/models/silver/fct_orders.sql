{{ config(unique_key='order_id') }}

-- One row per order: its latest accepted status and timestamps, delivery measures, the totals
-- of its payments and the score of its latest review. An order whose payments or reviews
-- changed in this run is re-merged even when its own row did not change.
with checked as (
    select * from {{ ref('int_orders_checked') }}
),

payments as (
    select * from {{ ref('fct_payments') }}
),

reviews as (
    select * from {{ ref('fct_reviews') }}
),

latest as (
    {{ silver_latest_accepted('checked', ['order_id']) }}
),

changed_orders as (
    select
        order_id,
        customer_id,
        order_status,
        order_purchase_timestamp,
        order_approved_at,
        order_delivered_carrier_date,
        order_delivered_customer_date,
        order_estimated_delivery_date,
        {{- silver_added_select('orders') }}
        _batch_id,
        _row_hash,
        _source_file,
        _ingested_at
    from latest
),

{% if is_incremental() %}
touched as (
    select order_id from payments where _invocation_id = '{{ invocation_id }}'
    union
    select order_id from reviews where _invocation_id = '{{ invocation_id }}'
),

retotalled as (
    select
        current_version.order_id,
        current_version.customer_id,
        current_version.order_status,
        current_version.order_purchase_timestamp,
        current_version.order_approved_at,
        current_version.order_delivered_carrier_date,
        current_version.order_delivered_customer_date,
        current_version.order_estimated_delivery_date,
        {{- silver_added_select('orders', 'current_version.', this) }}
        current_version._batch_id,
        current_version._row_hash,
        current_version._source_file,
        current_version._ingested_at
    from {{ this }} as current_version
    left semi join touched on current_version.order_id = touched.order_id
    left anti join changed_orders on current_version.order_id = changed_orders.order_id
),
{% endif %}

orders as (
    select * from changed_orders
    {%- if is_incremental() %}
    union all
    select * from retotalled
    {%- endif %}
),

payment_totals as (
    select
        payments.order_id,
        sum(payments.payment_value) as payment_total,
        count(*) as payment_count
    from payments
    left semi join orders on payments.order_id = orders.order_id
    group by payments.order_id
),

ranked_reviews as (
    select
        reviews.order_id,
        reviews.review_score,
        count(*) over (partition by reviews.order_id) as review_count,
        row_number() over (
            partition by reviews.order_id
            order by
                reviews.review_creation_date desc,
                reviews.review_answer_timestamp desc,
                reviews.review_id desc
        ) as review_rank
    from reviews
    left semi join orders on reviews.order_id = orders.order_id
),

final as (
    select
        orders.order_id,
        orders.customer_id,
        orders.order_status,
        orders.order_purchase_timestamp,
        orders.order_approved_at,
        orders.order_delivered_carrier_date,
        orders.order_delivered_customer_date,
        orders.order_estimated_delivery_date,
        datediff(
            cast(orders.order_delivered_customer_date as date),
            cast(orders.order_purchase_timestamp as date)
        ) as delivery_days,
        orders.order_delivered_customer_date > orders.order_estimated_delivery_date as is_late,
        coalesce(payment_totals.payment_total, cast(0 as decimal(22, 2))) as payment_total,
        coalesce(payment_totals.payment_count, 0) as payment_count,
        ranked_reviews.review_score,
        coalesce(ranked_reviews.review_count, 0) as review_count,
        {{- silver_added_select('orders', 'orders.') }}
        orders._batch_id,
        orders._row_hash,
        orders._source_file,
        orders._ingested_at,
        {{ silver_run_columns() }}
    from orders
    left join payment_totals on orders.order_id = payment_totals.order_id
    left join ranked_reviews
        on orders.order_id = ranked_reviews.order_id and ranked_reviews.review_rank = 1
)

select * from final
