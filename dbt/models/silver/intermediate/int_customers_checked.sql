-- Every candidate customer with the one reason it is rejected for (_reject_reason null: accepted).
with bronze as (
    {{ silver_candidates(source('bronze', 'brz_customers'), 'dim_customers') }}
),

cleaned as (
    select
        customer_id,
        customer_unique_id,
        {{ silver_text('customer_zip_code_prefix') }} as customer_zip_code_prefix,
        {{ silver_text('customer_city') }} as customer_city,
        upper({{ silver_text('customer_state') }}) as customer_state,
        {{- silver_added_select('customers') }}
        {{ silver_bronze_columns() }}
    from bronze
),

checked as (
    select
        *,
        case
            when _malformed then {{ silver_reason('malformed_row') }}
            when {{ silver_blank_key(['customer_id']) }} then {{ silver_reason('null_key') }}
        end as _row_reason
    from cleaned
),

{{ silver_versions('checked', ['customer_id']) }},

final as (
    select
        *,
        {{ silver_reject_reason() }} as _reject_reason,
        {{ silver_record_key(['customer_id']) }} as _record_key
    from versions
)

select * from final
