-- Every candidate order item with the one reason it is rejected for (_reject_reason null: accepted).
with bronze as (
    {{ silver_candidates(
        source('bronze', 'brz_order_items'), 'fct_order_items', orders=ref('int_orders_checked')) }}
),

known_orders as (
    {{ silver_known_orders() }}
),

cleaned as (
    select
        order_id,
        order_item_id,
        product_id,
        seller_id,
        shipping_limit_date,
        price,
        freight_value,
        {{- silver_added_select('order_items') }}
        {{ silver_bronze_columns() }}
    from bronze
),

checked as (
    select
        *,
        case
            when _malformed then {{ silver_reason('malformed_row') }}
            when {{ silver_blank_key(['order_id', 'order_item_id']) }}
                then {{ silver_reason('null_key') }}
            when {{ silver_unparseable(['shipping_limit_date'], required=['shipping_limit_date']) }}
                then {{ silver_reason('unparseable_timestamp') }}
            when {{ silver_unparseable(['order_item_id', 'price', 'freight_value'],
                required=['order_item_id', 'price', 'freight_value']) }}
                then {{ silver_reason('unparseable_number') }}
            when price < 0 or freight_value < 0 then {{ silver_reason('negative_amount') }}
        end as _row_reason
    from cleaned
),

{{ silver_versions('checked', ['order_id', 'order_item_id']) }},

final as (
    select
        versions.*,
        {{ silver_reject_reason('known_orders.order_id is null') }} as _reject_reason,
        {{ silver_record_key(['order_id', 'order_item_id']) }} as _record_key
    from versions
    left join known_orders on versions.order_id = known_orders.order_id
)

select * from final
