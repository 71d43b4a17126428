-- Every candidate orders row with the one reason it is rejected for (_reject_reason null: accepted).
with bronze as (
    {{ silver_candidates(source('bronze', 'brz_orders'), 'fct_orders') }}
),

cleaned as (
    select
        order_id,
        customer_id,
        lower(trim(order_status)) as order_status,
        order_purchase_timestamp,
        order_approved_at,
        order_delivered_carrier_date,
        order_delivered_customer_date,
        order_estimated_delivery_date,
        {{- silver_added_select('orders') }}
        {{ silver_bronze_columns() }}
    from bronze
),

checked as (
    select
        *,
        case
            when _malformed then {{ silver_reason('malformed_row') }}
            when {{ silver_blank_key(['order_id']) }} then {{ silver_reason('null_key') }}
            when {{ silver_unparseable(
                ['order_purchase_timestamp', 'order_approved_at', 'order_delivered_carrier_date',
                 'order_delivered_customer_date', 'order_estimated_delivery_date'],
                required=['order_purchase_timestamp']) }}
                then {{ silver_reason('unparseable_timestamp') }}
            when order_status is null
                or order_status not in {{ sql_list(silver_order_statuses()) }}
                then {{ silver_reason('unknown_order_status') }}
        end as _row_reason
    from cleaned
),

{{ silver_versions('checked', ['order_id']) }},

final as (
    select
        *,
        {{ silver_reject_reason() }} as _reject_reason,
        {{ silver_record_key(['order_id']) }} as _record_key
    from versions
)

select * from final
