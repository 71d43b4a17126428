{{ config(unique_key='customer_id') }}

with checked as (
    select * from {{ ref('int_customers_checked') }}
),

latest as (
    {{ silver_latest_accepted('checked', ['customer_id']) }}
),

final as (
    select
        customer_id,
        customer_unique_id,
        customer_zip_code_prefix,
        customer_city,
        customer_state,
        {{- silver_added_select('customers') }}
        {{ silver_lineage_columns() }}
    from latest
)

select * from final
