{{ config(unique_key='geolocation_zip_code_prefix') }}

-- One row per zip code prefix, from the points of the latest batch that brought the prefix:
-- the mean position and the most frequent city and state among those points.
with checked as (
    select * from {{ ref('int_geolocation_checked') }}
),

accepted as (
    select * from checked where _reject_reason is null
),

latest_batch as (
    select
        geolocation_zip_code_prefix,
        max(_batch_id) as _batch_id
    from accepted
    group by geolocation_zip_code_prefix
),

{% if is_incremental() %}
newer as (
    select latest_batch.*
    from latest_batch
    left anti join {{ this }} as current_version
        on current_version.geolocation_zip_code_prefix = latest_batch.geolocation_zip_code_prefix
        and current_version._batch_id > latest_batch._batch_id
),
{% else %}
newer as (
    select * from latest_batch
),
{% endif %}

points as (
    select accepted.*
    from accepted
    inner join newer
        on accepted.geolocation_zip_code_prefix = newer.geolocation_zip_code_prefix
        and accepted._batch_id = newer._batch_id
),

places as (
    select
        geolocation_zip_code_prefix,
        geolocation_city,
        geolocation_state,
        row_number() over (
            partition by geolocation_zip_code_prefix
            order by count(*) desc, geolocation_city, geolocation_state
        ) as place_rank
    from points
    group by geolocation_zip_code_prefix, geolocation_city, geolocation_state
),

positions as (
    select
        geolocation_zip_code_prefix,
        avg(geolocation_lat) as geolocation_lat,
        avg(geolocation_lng) as geolocation_lng,
        count(*) as geolocation_points,
        max(_batch_id) as _batch_id,
        max(_ingested_at) as _ingested_at
    from points
    group by geolocation_zip_code_prefix
),

final as (
    select
        positions.geolocation_zip_code_prefix,
        positions.geolocation_lat,
        positions.geolocation_lng,
        places.geolocation_city,
        places.geolocation_state,
        positions.geolocation_points,
        positions._batch_id,
        positions._ingested_at,
        {{ silver_run_columns() }}
    from positions
    inner join places
        on positions.geolocation_zip_code_prefix = places.geolocation_zip_code_prefix
        and places.place_rank = 1
)

select * from final
