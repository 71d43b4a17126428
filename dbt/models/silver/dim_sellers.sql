{{ config(unique_key='seller_id') }}

with checked as (
    select * from {{ ref('int_sellers_checked') }}
),

latest as (
    {{ silver_latest_accepted('checked', ['seller_id']) }}
),

final as (
    select
        seller_id,
        seller_zip_code_prefix,
        seller_city,
        seller_state,
        {{- silver_added_select('sellers') }}
        {{ silver_lineage_columns() }}
    from latest
)

select * from final
