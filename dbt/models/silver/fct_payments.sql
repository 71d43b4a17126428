{{ config(unique_key=['order_id', 'payment_sequential']) }}

with checked as (
    select * from {{ ref('int_order_payments_checked') }}
),

latest as (
    {{ silver_latest_accepted('checked', ['order_id', 'payment_sequential']) }}
),

final as (
    select
        order_id,
        payment_sequential,
        payment_type,
        payment_installments,
        payment_value,
        {{- silver_added_select('order_payments') }}
        {{ silver_lineage_columns() }}
    from latest
)

select * from final
