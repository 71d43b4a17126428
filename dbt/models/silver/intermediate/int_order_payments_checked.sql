-- Every candidate payment with the one reason it is rejected for (_reject_reason null: accepted).
with bronze as (
    {{ silver_candidates(
        source('bronze', 'brz_order_payments'), 'fct_payments', orders=ref('int_orders_checked')) }}
),

known_orders as (
    {{ silver_known_orders() }}
),

cleaned as (
    select
        order_id,
        payment_sequential,
        lower(trim(payment_type)) as payment_type,
        payment_installments,
        payment_value,
        {{- silver_added_select('order_payments') }}
        {{ silver_bronze_columns() }}
    from bronze
),

checked as (
    select
        *,
        case
            when _malformed then {{ silver_reason('malformed_row') }}
            when {{ silver_blank_key(['order_id', 'payment_sequential']) }}
                then {{ silver_reason('null_key') }}
            when {{ silver_unparseable(['payment_sequential', 'payment_installments', 'payment_value'],
                required=['payment_sequential', 'payment_installments', 'payment_value']) }}
                then {{ silver_reason('unparseable_number') }}
            when payment_value < 0 then {{ silver_reason('negative_amount') }}
            when payment_type is null
                or payment_type not in {{ sql_list(silver_payment_types()) }}
                then {{ silver_reason('unknown_payment_type') }}
        end as _row_reason
    from cleaned
),

{{ silver_versions('checked', ['order_id', 'payment_sequential']) }},

final as (
    select
        versions.*,
        {{ silver_reject_reason('known_orders.order_id is null') }} as _reject_reason,
        {{ silver_record_key(['order_id', 'payment_sequential']) }} as _record_key
    from versions
    left join known_orders on versions.order_id = known_orders.order_id
)

select * from final
