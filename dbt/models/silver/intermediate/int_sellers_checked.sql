-- Every candidate seller with the one reason it is rejected for (_reject_reason null: accepted).
with bronze as (
    {{ silver_candidates(source('bronze', 'brz_sellers'), 'dim_sellers') }}
),

cleaned as (
    select
        seller_id,
        {{ silver_text('seller_zip_code_prefix') }} as seller_zip_code_prefix,
        {{ silver_text('seller_city') }} as seller_city,
        upper({{ silver_text('seller_state') }}) as seller_state,
        {{- silver_added_select('sellers') }}
        {{ silver_bronze_columns() }}
    from bronze
),

checked as (
    select
        *,
        case
            when _malformed then {{ silver_reason('malformed_row') }}
            when {{ silver_blank_key(['seller_id']) }} then {{ silver_reason('null_key') }}
        end as _row_reason
    from cleaned
),

{{ silver_versions('checked', ['seller_id']) }},

final as (
    select
        *,
        {{ silver_reject_reason() }} as _reject_reason,
        {{ silver_record_key(['seller_id']) }} as _record_key
    from versions
)

select * from final
