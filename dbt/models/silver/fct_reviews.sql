{{ config(unique_key='review_id') }}

with checked as (
    select * from {{ ref('int_order_reviews_checked') }}
),

latest as (
    {{ silver_latest_accepted('checked', ['review_id']) }}
),

final as (
    select
        review_id,
        order_id,
        review_score,
        review_comment_title,
        review_comment_message,
        review_creation_date,
        review_answer_timestamp,
        {{- silver_added_select('order_reviews') }}
        {{ silver_lineage_columns() }}
    from latest
)

select * from final
