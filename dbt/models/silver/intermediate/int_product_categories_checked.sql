-- Every candidate category translation with the one reason it is rejected for (null: accepted).
with bronze as (
    {{ silver_candidates(
        source('bronze', 'brz_product_category_name_translation'), 'dim_product_categories') }}
),

cleaned as (
    select
        product_category_name,
        {{ silver_text('product_category_name_english') }} as product_category_name_english,
        {{- silver_added_select('product_category_name_translation') }}
        {{ silver_bronze_columns() }}
    from bronze
),

checked as (
    select
        *,
        case
            when _malformed then {{ silver_reason('malformed_row') }}
            when {{ silver_blank_key(['product_category_name']) }}
                then {{ silver_reason('null_key') }}
        end as _row_reason
    from cleaned
),

{{ silver_versions('checked', ['product_category_name']) }},

final as (
    select
        *,
        {{ silver_reject_reason() }} as _reject_reason,
        {{ silver_record_key(['product_category_name']) }} as _record_key
    from versions
)

select * from final
