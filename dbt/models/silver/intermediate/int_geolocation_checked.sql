-- Every candidate geolocation point with the one reason it is rejected for (null: accepted).
-- A zip code prefix has many points by design, so points of one prefix never conflict.
with bronze as (
    {{ silver_candidates(source('bronze', 'brz_geolocation'), 'dim_geolocation') }}
),

cleaned as (
    select
        geolocation_zip_code_prefix,
        geolocation_lat,
        geolocation_lng,
        {{ silver_text('geolocation_city') }} as geolocation_city,
        upper({{ silver_text('geolocation_state') }}) as geolocation_state,
        {{ silver_bronze_columns() }}
    from bronze
),

checked as (
    select
        *,
        case
            when _malformed then {{ silver_reason('malformed_row') }}
            when {{ silver_blank_key(['geolocation_zip_code_prefix']) }}
                then {{ silver_reason('null_key') }}
            when {{ silver_unparseable(['geolocation_lat', 'geolocation_lng'],
                required=['geolocation_lat', 'geolocation_lng']) }}
                then {{ silver_reason('unparseable_number') }}
        end as _row_reason
    from cleaned
),

{{ silver_versions('checked') }},

final as (
    select
        *,
        {{ silver_reject_reason() }} as _reject_reason,
        {{ silver_record_key(['geolocation_zip_code_prefix']) }} as _record_key
    from versions
)

select * from final
