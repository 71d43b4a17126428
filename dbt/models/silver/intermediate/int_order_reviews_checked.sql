-- Every candidate review with the one reason it is rejected for (_reject_reason null: accepted).
with bronze as (
    {{ silver_candidates(
        source('bronze', 'brz_order_reviews'), 'fct_reviews', orders=ref('int_orders_checked')) }}
),

known_orders as (
    {{ silver_known_orders() }}
),

cleaned as (
    select
        review_id,
        order_id,
        review_score,
        {{ silver_text('review_comment_title') }} as review_comment_title,
        {{ silver_text('review_comment_message') }} as review_comment_message,
        review_creation_date,
        review_answer_timestamp,
        {{- silver_added_select('order_reviews') }}
        {{ silver_bronze_columns() }}
    from bronze
),

checked as (
    select
        *,
        case
            when _malformed then {{ silver_reason('malformed_row') }}
            when {{ silver_blank_key(['review_id', 'order_id']) }}
                then {{ silver_reason('null_key') }}
            when {{ silver_unparseable(['review_creation_date', 'review_answer_timestamp'],
                required=['review_creation_date']) }}
                then {{ silver_reason('unparseable_timestamp') }}
            when {{ silver_unparseable(['review_score'], required=['review_score']) }}
                then {{ silver_reason('unparseable_number') }}
            when review_score not between {{ var('review_score')['min'] }}
                and {{ var('review_score')['max'] }}
                then {{ silver_reason('review_score_out_of_range') }}
        end as _row_reason
    from cleaned
),

{{ silver_versions('checked', ['review_id']) }},

final as (
    select
        versions.*,
        {{ silver_reject_reason('known_orders.order_id is null') }} as _reject_reason,
        {{ silver_record_key(['review_id', 'order_id']) }} as _record_key
    from versions
    left join known_orders on versions.order_id = known_orders.order_id
)

select * from final
