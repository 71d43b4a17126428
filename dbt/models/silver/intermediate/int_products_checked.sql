-- Every candidate product with the one reason it is rejected for (_reject_reason null: accepted).
with bronze as (
    {{ silver_candidates(source('bronze', 'brz_products'), 'dim_products') }}
),

cleaned as (
    select
        product_id,
        {{ silver_text('product_category_name') }} as product_category_name,
        product_name_lenght,
        product_description_lenght,
        product_photos_qty,
        product_weight_g,
        product_length_cm,
        product_height_cm,
        product_width_cm,
        {{- silver_added_select('products') }}
        {{ silver_bronze_columns() }}
    from bronze
),

checked as (
    select
        *,
        case
            when _malformed then {{ silver_reason('malformed_row') }}
            when {{ silver_blank_key(['product_id']) }} then {{ silver_reason('null_key') }}
            when {{ silver_unparseable(
                ['product_name_lenght', 'product_description_lenght', 'product_photos_qty',
                 'product_weight_g', 'product_length_cm', 'product_height_cm',
                 'product_width_cm']) }} then {{ silver_reason('unparseable_number') }}
        end as _row_reason
    from cleaned
),

{{ silver_versions('checked', ['product_id']) }},

final as (
    select
        *,
        {{ silver_reject_reason() }} as _reject_reason,
        {{ silver_record_key(['product_id']) }} as _record_key
    from versions
)

select * from final
