{{ config(unique_key='product_category_name') }}

with checked as (
    select * from {{ ref('int_product_categories_checked') }}
),

latest as (
    {{ silver_latest_accepted('checked', ['product_category_name']) }}
),

final as (
    select
        product_category_name,
        product_category_name_english,
        {{- silver_added_select('product_category_name_translation') }}
        {{ silver_lineage_columns() }}
    from latest
)

select * from final
