-- The floor of `make bench`: silver's rules and the five gold marts in DuckDB, in one process.
--
-- scripts/bench_floor.py first makes the vocabularies order_statuses, payment_types and
-- review_score (from the vars of dbt/dbt_project.yml) and seed_category_translation (dbt/seeds);
-- after this file's bronze macros it makes one table per landing file, brz_<table>, as bronze
-- does (every record, its columns typed as the landing_columns var says, its raw fields in _raw,
-- _extra_fields, _malformed and _parse_errors). The rest is here: the rules of dbt/models/silver
-- (intermediate/int_*_checked, then the silver tables, over all batches at once, as a full
-- refresh computes them) and the marts of dbt/models/gold. Statements end with a line holding
-- only `;`; a `-- phase: <name>` line starts the statements timed as <name>.

-- phase: bronze

-- A CSV record's fields under strict RFC 4180 quoting (a quoted field may hold line ends), or
-- null when its quoting breaks or it holds more than one record.
create macro csv_fields(text) as
    case
        when strpos(text, '"') = 0 and strpos(text, chr(10)) = 0 then string_split(text, ',')
        when regexp_full_match(
            text, '(?:"(?:[^"]|"")*"|[^,"\n]*)(?:,(?:"(?:[^"]|"")*"|[^,"\n]*))*'
        )
            then list_transform(
                regexp_extract_all(',' || text, ',("(?:[^"]|"")*"|[^,"\n]*)', 1),
                lambda f: case when f[1] = '"' then replace(f[2:-2], '""', '"') else f end
            )
    end
;
-- The records of the files in landing_lines (_batch_id, filename, line and its number n, made by
-- scripts/bench_floor.py) as medallion.records cuts them when the loader lands them: a line with
-- an even number of quotes is a record; one with an odd number opens a quoted field that runs to
-- the next such line, and that stretch is one record when it parses into `width` fields, else the
-- opening line alone is a malformed record and reading goes on at the next line. Empty lines and
-- the header are no records. (Line ends are \n, as medallion generate writes them.)
create macro csv_records(width) as table
with lines as (
    select
        _batch_id,
        filename,
        n,
        line,
        (length(line) - length(replace(line, '"', ''))) % 2 = 1 as odd
    from landing_lines
    where n > 1
),

odd_lines as (
    select filename, n, lead(n) over (partition by filename order by n) as closing
    from lines
    where odd
),

candidates as (
    select o.filename, o.n, csv_fields(string_agg(l.line, chr(10) order by l.n)) as fields
    from odd_lines as o
    inner join lines as l on o.filename = l.filename and l.n between o.n and o.closing
    group by o.filename, o.n
),

judged as (
    select
        o.filename,
        o.n,
        o.closing,
        coalesce(len(c.fields) = width, false) as ok,
        row_number() over (partition by o.filename order by o.n) as k
    from odd_lines as o
    left join candidates as c on o.filename = c.filename and o.n = c.n
),

chained as (
    select *, coalesce(lag(ok) over (partition by filename order by n), false) as after_ok
    from judged
),

-- An odd line opens a record unless the one before opened a record that closed on it: in a run
-- of odd lines whose predecessors' stretches all parse, every other line opens one.
runs as (
    select
        *,
        sum(case when after_ok then 0 else 1 end) over (
            partition by filename order by n rows unbounded preceding
        ) as run
    from chained
),

spans as (
    select filename, n, closing
    from runs
    qualify ok and (k - min(k) over (partition by filename, run)) % 2 = 0
),

inside as (
    select l.filename, l.n
    from lines as l
    inner join spans as s on l.filename = s.filename and l.n > s.n and l.n <= s.closing
),

single as (
    select l._batch_id, case when not l.odd then csv_fields(l.line) end as fields, l.line
    from lines as l
    anti join inside as i on l.filename = i.filename and l.n = i.n
    anti join spans as s on l.filename = s.filename and l.n = s.n
    where l.line <> ''
)

select _batch_id, fields, line from single
union all
select l._batch_id, c.fields, l.line
from spans as s
inner join candidates as c on s.filename = c.filename and s.n = c.n
inner join lines as l on s.filename = l.filename and s.n = l.n
;
-- bronze_parse, type by type: null when empty or unparseable.
create macro parse_timestamp(v) as try_strptime(nullif(trim(v), ''), '%Y-%m-%d %H:%M:%S')
;
create macro parse_decimal(v) as
    case
        when regexp_full_match(trim(v), '[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)')
            then try_cast(trim(v) as decimal(12, 2))
    end
;
create macro parse_integer(v) as
    case when regexp_full_match(trim(v), '[+-]?[0-9]+') then try_cast(trim(v) as integer) end
;
create macro parse_integer_lenient(v) as
    coalesce(
        parse_integer(v),
        case
            when try_cast(trim(v) as double) = floor(try_cast(trim(v) as double))
                then try_cast(try_cast(trim(v) as double) as integer)
        end
    )
;
create macro parse_double(v) as try_cast(nullif(trim(v), '') as double)
;

-- phase: silver

-- Trino's decimal division of non-negative numbers: the quotient at scale 2 (or 4), half up.
create macro div_half_up_2(num, den) as
    cast((cast(num * 200 as hugeint) + den) // (2 * den) as decimal(38, 0))
    * cast(0.01 as decimal(3, 2))
;
create macro div_half_up_4(num, den) as
    cast((cast(num * 20000 as hugeint) + den) // (2 * den) as decimal(38, 0))
    * cast(0.0001 as decimal(5, 4))
;
-- A text value cleaned for silver (silver_text): trimmed, empty -> null.
create macro clean_text(v) as nullif(trim(v), '')
;
-- A key column landed null, empty or blank (silver_blank_key).
create macro blank(v) as coalesce(trim(v), '') = ''
;
-- A typed column that failed to parse (silver_unparseable; `required` adds: or is null).
create macro parse_failed(errors, col) as coalesce(list_contains(errors, col), false)
;

create table int_orders_checked as
with cleaned as (
    select
        order_id,
        customer_id,
        lower(trim(order_status)) as order_status,
        order_purchase_timestamp,
        order_approved_at,
        order_delivered_carrier_date,
        order_delivered_customer_date,
        order_estimated_delivery_date,
        _batch_id, _raw, _extra_fields, _malformed, _parse_errors
    from brz_orders
),

checked as (
    select
        *,
        case
            when _malformed then 'malformed_row'
            when blank(_raw.order_id) then 'null_key'
            when parse_failed(_parse_errors, 'order_purchase_timestamp')
                or order_purchase_timestamp is null
                or parse_failed(_parse_errors, 'order_approved_at')
                or parse_failed(_parse_errors, 'order_delivered_carrier_date')
                or parse_failed(_parse_errors, 'order_delivered_customer_date')
                or parse_failed(_parse_errors, 'order_estimated_delivery_date')
                then 'unparseable_timestamp'
            when order_status is null
                or order_status not in (select order_status from order_statuses)
                then 'unknown_order_status'
        end as _row_reason
    from cleaned
),

distinct_rows as (
    select distinct on (_batch_id, _raw, _extra_fields) * from checked
),

versions as (
    select
        *,
        count(case when _row_reason is null then 1 end) over (
            partition by _batch_id, order_id
        ) as _valid_versions
    from distinct_rows
)

select
    *,
    coalesce(_row_reason, case when _valid_versions > 1 then 'conflicting_duplicate' end)
        as _reject_reason
from versions
;

create table known_orders as
select distinct order_id from int_orders_checked where _reject_reason is null
;

create table int_order_items_checked as
with cleaned as (
    select
        order_id, order_item_id, product_id, seller_id, shipping_limit_date, price,
        freight_value,
        _batch_id, _raw, _extra_fields, _malformed, _parse_errors
    from brz_order_items
),

checked as (
    select
        *,
        case
            when _malformed then 'malformed_row'
            when blank(_raw.order_id) or blank(_raw.order_item_id) then 'null_key'
            when parse_failed(_parse_errors, 'shipping_limit_date') or shipping_limit_date is null
                then 'unparseable_timestamp'
            when parse_failed(_parse_errors, 'order_item_id') or order_item_id is null
                or parse_failed(_parse_errors, 'price') or price is null
                or parse_failed(_parse_errors, 'freight_value') or freight_value is null
                then 'unparseable_number'
            when price < 0 or freight_value < 0 then 'negative_amount'
        end as _row_reason
    from cleaned
),

distinct_rows as (
    select distinct on (_batch_id, _raw, _extra_fields) * from checked
),

versions as (
    select
        *,
        count(case when _row_reason is null then 1 end) over (
            partition by _batch_id, order_id, order_item_id
        ) as _valid_versions
    from distinct_rows
)

select
    versions.*,
    coalesce(
        _row_reason,
        case when _valid_versions > 1 then 'conflicting_duplicate' end,
        case when known_orders.order_id is null then 'orphan' end
    ) as _reject_reason
from versions
left join known_orders on versions.order_id = known_orders.order_id
;

create table int_order_payments_checked as
with cleaned as (
    select
        order_id,
        payment_sequential,
        lower(trim(payment_type)) as payment_type,
        payment_installments,
        payment_value,
        _batch_id, _raw, _extra_fields, _malformed, _parse_errors
    from brz_order_payments
),

checked as (
    select
        *,
        case
            when _malformed then 'malformed_row'
            when blank(_raw.order_id) or blank(_raw.payment_sequential) then 'null_key'
            when parse_failed(_parse_errors, 'payment_sequential') or payment_sequential is null
                or parse_failed(_parse_errors, 'payment_installments')
                or payment_installments is null
                or parse_failed(_parse_errors, 'payment_value') or payment_value is null
                then 'unparseable_number'
            when payment_value < 0 then 'negative_amount'
            when payment_type is null
                or payment_type not in (select payment_type from payment_types)
                then 'unknown_payment_type'
        end as _row_reason
    from cleaned
),

distinct_rows as (
    select distinct on (_batch_id, _raw, _extra_fields) * from checked
),

versions as (
    select
        *,
        count(case when _row_reason is null then 1 end) over (
            partition by _batch_id, order_id, payment_sequential
        ) as _valid_versions
    from distinct_rows
)

select
    versions.*,
    coalesce(
        _row_reason,
        case when _valid_versions > 1 then 'conflicting_duplicate' end,
        case when known_orders.order_id is null then 'orphan' end
    ) as _reject_reason
from versions
left join known_orders on versions.order_id = known_orders.order_id
;

create table int_order_reviews_checked as
with cleaned as (
    select
        review_id,
        order_id,
        review_score,
        clean_text(review_comment_title) as review_comment_title,
        clean_text(review_comment_message) as review_comment_message,
        review_creation_date,
        review_answer_timestamp,
        _batch_id, _raw, _extra_fields, _malformed, _parse_errors
    from brz_order_reviews
),

checked as (
    select
        *,
        case
            when _malformed then 'malformed_row'
            when blank(_raw.review_id) or blank(_raw.order_id) then 'null_key'
            when parse_failed(_parse_errors, 'review_creation_date')
                or review_creation_date is null
                or parse_failed(_parse_errors, 'review_answer_timestamp')
                then 'unparseable_timestamp'
            when parse_failed(_parse_errors, 'review_score') or review_score is null
                then 'unparseable_number'
            when review_score not between (select score_min from review_score)
                and (select score_max from review_score) then 'review_score_out_of_range'
        end as _row_reason
    from cleaned
),

distinct_rows as (
    select distinct on (_batch_id, _raw, _extra_fields) * from checked
),

versions as (
    select
        *,
        count(case when _row_reason is null then 1 end) over (
            partition by _batch_id, review_id
        ) as _valid_versions
    from distinct_rows
)

select
    versions.*,
    coalesce(
        _row_reason,
        case when _valid_versions > 1 then 'conflicting_duplicate' end,
        case when known_orders.order_id is null then 'orphan' end
    ) as _reject_reason
from versions
left join known_orders on versions.order_id = known_orders.order_id
;

create table int_customers_checked as
with cleaned as (
    select
        customer_id,
        customer_unique_id,
        clean_text(customer_zip_code_prefix) as customer_zip_code_prefix,
        clean_text(customer_city) as customer_city,
        upper(clean_text(customer_state)) as customer_state,
        _batch_id, _raw, _extra_fields, _malformed, _parse_errors
    from brz_customers
),

checked as (
    select
        *,
        case
            when _malformed then 'malformed_row'
            when blank(_raw.customer_id) then 'null_key'
        end as _row_reason
    from cleaned
),

distinct_rows as (
    select distinct on (_batch_id, _raw, _extra_fields) * from checked
),

versions as (
    select
        *,
        count(case when _row_reason is null then 1 end) over (
            partition by _batch_id, customer_id
        ) as _valid_versions
    from distinct_rows
)

select
    *,
    coalesce(_row_reason, case when _valid_versions > 1 then 'conflicting_duplicate' end)
        as _reject_reason
from versions
;

create table int_sellers_checked as
with cleaned as (
    select
        seller_id,
        clean_text(seller_zip_code_prefix) as seller_zip_code_prefix,
        clean_text(seller_city) as seller_city,
        upper(clean_text(seller_state)) as seller_state,
        _batch_id, _raw, _extra_fields, _malformed, _parse_errors
    from brz_sellers
),

checked as (
    select
        *,
        case
            when _malformed then 'malformed_row'
            when blank(_raw.seller_id) then 'null_key'
        end as _row_reason
    from cleaned
),

distinct_rows as (
    select distinct on (_batch_id, _raw, _extra_fields) * from checked
),

versions as (
    select
        *,
        count(case when _row_reason is null then 1 end) over (
            partition by _batch_id, seller_id
        ) as _valid_versions
    from distinct_rows
)

select
    *,
    coalesce(_row_reason, case when _valid_versions > 1 then 'conflicting_duplicate' end)
        as _reject_reason
from versions
;

create table int_products_checked as
with cleaned as (
    select
        product_id,
        clean_text(product_category_name) as product_category_name,
        product_name_lenght,
        product_description_lenght,
        product_photos_qty,
        product_weight_g,
        product_length_cm,
        product_height_cm,
        product_width_cm,
        _batch_id, _raw, _extra_fields, _malformed, _parse_errors
    from brz_products
),

checked as (
    select
        *,
        case
            when _malformed then 'malformed_row'
            when blank(_raw.product_id) then 'null_key'
            when parse_failed(_parse_errors, 'product_name_lenght')
                or parse_failed(_parse_errors, 'product_description_lenght')
                or parse_failed(_parse_errors, 'product_photos_qty')
                or parse_failed(_parse_errors, 'product_weight_g')
                or parse_failed(_parse_errors, 'product_length_cm')
                or parse_failed(_parse_errors, 'product_height_cm')
                or parse_failed(_parse_errors, 'product_width_cm')
                then 'unparseable_number'
        end as _row_reason
    from cleaned
),

distinct_rows as (
    select distinct on (_batch_id, _raw, _extra_fields) * from checked
),

versions as (
    select
        *,
        count(case when _row_reason is null then 1 end) over (
            partition by _batch_id, product_id
        ) as _valid_versions
    from distinct_rows
)

select
    *,
    coalesce(_row_reason, case when _valid_versions > 1 then 'conflicting_duplicate' end)
        as _reject_reason
from versions
;

create table int_product_categories_checked as
with cleaned as (
    select
        product_category_name,
        clean_text(product_category_name_english) as product_category_name_english,
        _batch_id, _raw, _extra_fields, _malformed, _parse_errors
    from brz_product_category_name_translation
),

checked as (
    select
        *,
        case
            when _malformed then 'malformed_row'
            when blank(_raw.product_category_name) then 'null_key'
        end as _row_reason
    from cleaned
),

distinct_rows as (
    select distinct on (_batch_id, _raw, _extra_fields) * from checked
),

versions as (
    select
        *,
        count(case when _row_reason is null then 1 end) over (
            partition by _batch_id, product_category_name
        ) as _valid_versions
    from distinct_rows
)

select
    *,
    coalesce(_row_reason, case when _valid_versions > 1 then 'conflicting_duplicate' end)
        as _reject_reason
from versions
;

create table int_geolocation_checked as
with cleaned as (
    select
        geolocation_zip_code_prefix,
        geolocation_lat,
        geolocation_lng,
        clean_text(geolocation_city) as geolocation_city,
        upper(clean_text(geolocation_state)) as geolocation_state,
        _batch_id, _raw, _extra_fields, _malformed, _parse_errors
    from brz_geolocation
),

checked as (
    select
        *,
        case
            when _malformed then 'malformed_row'
            when blank(_raw.geolocation_zip_code_prefix) then 'null_key'
            when parse_failed(_parse_errors, 'geolocation_lat') or geolocation_lat is null
                or parse_failed(_parse_errors, 'geolocation_lng') or geolocation_lng is null
                then 'unparseable_number'
        end as _row_reason
    from cleaned
)

-- a zip code prefix has many points by design: identical lines collapse, none conflict
select distinct on (_batch_id, _raw, _extra_fields) *, _row_reason as _reject_reason
from checked
;

-- The silver tables: the newest accepted version of each key (the latest batch wins).
create table fct_order_items as
select
    order_id, order_item_id, product_id, seller_id, shipping_limit_date, price, freight_value,
    price + freight_value as item_value, _batch_id
from int_order_items_checked
where _reject_reason is null
qualify row_number() over (partition by order_id, order_item_id order by _batch_id desc) = 1
;

create table fct_payments as
select order_id, payment_sequential, payment_type, payment_installments, payment_value, _batch_id
from int_order_payments_checked
where _reject_reason is null
qualify row_number() over (partition by order_id, payment_sequential order by _batch_id desc) = 1
;

create table fct_reviews as
select
    review_id, order_id, review_score, review_comment_title, review_comment_message,
    review_creation_date, review_answer_timestamp, _batch_id
from int_order_reviews_checked
where _reject_reason is null
qualify row_number() over (partition by review_id order by _batch_id desc) = 1
;

create table dim_customers as
select
    customer_id, customer_unique_id, customer_zip_code_prefix, customer_city, customer_state,
    _batch_id
from int_customers_checked
where _reject_reason is null
qualify row_number() over (partition by customer_id order by _batch_id desc) = 1
;

create table dim_sellers as
select seller_id, seller_zip_code_prefix, seller_city, seller_state, _batch_id
from int_sellers_checked
where _reject_reason is null
qualify row_number() over (partition by seller_id order by _batch_id desc) = 1
;

create table dim_product_categories as
select product_category_name, product_category_name_english, _batch_id
from int_product_categories_checked
where _reject_reason is null
qualify row_number() over (partition by product_category_name order by _batch_id desc) = 1
;

create table dim_products as
with latest as (
    select *
    from int_products_checked
    where _reject_reason is null
    qualify row_number() over (partition by product_id order by _batch_id desc) = 1
)

select
    p.product_id,
    p.product_category_name,
    coalesce(c.product_category_name_english, s.product_category_name_english)
        as product_category_name_english,
    coalesce(
        c.product_category_name_english,
        s.product_category_name_english,
        p.product_category_name,
        'unknown'
    ) as category,
    p.product_name_lenght,
    p.product_description_lenght,
    p.product_photos_qty,
    p.product_weight_g,
    p.product_length_cm,
    p.product_height_cm,
    p.product_width_cm,
    p._batch_id
from latest as p
left join dim_product_categories as c on p.product_category_name = c.product_category_name
left join seed_category_translation as s on p.product_category_name = s.product_category_name
;

create table dim_geolocation as
with accepted as (
    select * from int_geolocation_checked where _reject_reason is null
),

points as (
    select *
    from accepted
    qualify _batch_id = max(_batch_id) over (partition by geolocation_zip_code_prefix)
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
        max(_batch_id) as _batch_id
    from points
    group by geolocation_zip_code_prefix
)

select
    positions.geolocation_zip_code_prefix,
    positions.geolocation_lat,
    positions.geolocation_lng,
    places.geolocation_city,
    places.geolocation_state,
    positions.geolocation_points,
    positions._batch_id
from positions
inner join places
    on positions.geolocation_zip_code_prefix = places.geolocation_zip_code_prefix
    and places.place_rank = 1
;

create table fct_orders as
with latest as (
    select *
    from int_orders_checked
    where _reject_reason is null
    qualify row_number() over (partition by order_id order by _batch_id desc) = 1
),

payment_totals as (
    select order_id, sum(payment_value) as payment_total, count(*) as payment_count
    from fct_payments
    group by order_id
),

ranked_reviews as (
    select
        order_id,
        review_score,
        count(*) over (partition by order_id) as review_count
    from fct_reviews
    qualify row_number() over (
        partition by order_id
        order by
            review_creation_date desc nulls last,
            review_answer_timestamp desc nulls last,
            review_id desc
    ) = 1
)

select
    o.order_id,
    o.customer_id,
    o.order_status,
    o.order_purchase_timestamp,
    o.order_approved_at,
    o.order_delivered_carrier_date,
    o.order_delivered_customer_date,
    o.order_estimated_delivery_date,
    date_diff(
        'day',
        cast(o.order_purchase_timestamp as date),
        cast(o.order_delivered_customer_date as date)
    ) as delivery_days,
    o.order_delivered_customer_date > o.order_estimated_delivery_date as is_late,
    coalesce(p.payment_total, 0) as payment_total,
    coalesce(p.payment_count, 0) as payment_count,
    r.review_score,
    coalesce(r.review_count, 0) as review_count,
    o._batch_id
from latest as o
left join payment_totals as p on o.order_id = p.order_id
left join ranked_reviews as r on o.order_id = r.order_id
;

create table quarantine as
select 'fct_orders' as table_name, _reject_reason as reason, _batch_id, _raw::varchar as record
from int_orders_checked where _reject_reason is not null
union all
select 'fct_order_items', _reject_reason, _batch_id, _raw::varchar
from int_order_items_checked where _reject_reason is not null
union all
select 'fct_payments', _reject_reason, _batch_id, _raw::varchar
from int_order_payments_checked where _reject_reason is not null
union all
select 'fct_reviews', _reject_reason, _batch_id, _raw::varchar
from int_order_reviews_checked where _reject_reason is not null
union all
select 'dim_customers', _reject_reason, _batch_id, _raw::varchar
from int_customers_checked where _reject_reason is not null
union all
select 'dim_sellers', _reject_reason, _batch_id, _raw::varchar
from int_sellers_checked where _reject_reason is not null
union all
select 'dim_products', _reject_reason, _batch_id, _raw::varchar
from int_products_checked where _reject_reason is not null
union all
select 'dim_product_categories', _reject_reason, _batch_id, _raw::varchar
from int_product_categories_checked where _reject_reason is not null
union all
select 'dim_geolocation', _reject_reason, _batch_id, _raw::varchar
from int_geolocation_checked where _reject_reason is not null
;

-- phase: gold

create table sales_by_category_month as
select
    cast(date_trunc('month', o.order_purchase_timestamp) as date) as month,
    coalesce(p.category, 'unknown') as category,
    count(distinct i.order_id) as orders,
    count(*) as items,
    round(sum(i.price + i.freight_value), 2) as revenue,
    div_half_up_2(sum(i.price + i.freight_value), count(distinct i.order_id)) as avg_order_value
from fct_order_items as i
inner join fct_orders as o on i.order_id = o.order_id and o.order_status = 'delivered'
left join dim_products as p on i.product_id = p.product_id
group by all
;

create table daily_orders as
with flagged as (
    select
        cast(order_purchase_timestamp as date) as order_date,
        order_status,
        payment_total,
        order_status not in ('canceled', 'unavailable') as is_paid
    from fct_orders
)

select
    order_date,
    count(*) as orders_placed,
    count_if(order_status = 'delivered') as orders_delivered,
    count_if(order_status = 'canceled') as orders_canceled,
    round(coalesce(sum(case when is_paid then payment_total end), 0), 2) as payment_value,
    div_half_up_2(
        sum(case when is_paid then payment_total end), nullif(count_if(is_paid), 0)
    ) as avg_ticket
from flagged
group by order_date
;

create table seller_performance as
with seller_orders as (
    select
        i.seller_id,
        i.order_id,
        count(*) as items,
        sum(i.price + i.freight_value) as revenue,
        max(o.review_score) as review_score,
        bool_or(
            coalesce(o.order_delivered_customer_date > o.order_estimated_delivery_date, false)
        ) as is_late
    from fct_order_items as i
    inner join fct_orders as o on i.order_id = o.order_id and o.order_status = 'delivered'
    group by i.seller_id, i.order_id
)

select
    seller_id,
    count(*) as orders,
    sum(items) as items,
    round(sum(revenue), 2) as revenue,
    round(div_half_up_4(sum(review_score), nullif(count(review_score), 0)), 2)
        as avg_review_score,
    div_half_up_4(count_if(is_late), count(*)) as late_delivery_rate
from seller_orders
group by seller_id
;

create table delivery_by_state as
with deliveries as (
    select
        coalesce(c.customer_state, 'unknown') as customer_state,
        floor(
            cast(
                date_diff('second', o.order_purchase_timestamp, o.order_delivered_customer_date)
                as double
            ) / 86400
        ) as delivery_days,
        o.order_delivered_customer_date > o.order_estimated_delivery_date as is_late
    from fct_orders as o
    left join dim_customers as c on o.customer_id = c.customer_id
    where o.order_status = 'delivered' and o.order_delivered_customer_date is not null
)

select
    customer_state,
    count(*) as delivered_orders,
    div_half_up_2(cast(sum(delivery_days) as decimal(20, 2)), count(*)) as avg_delivery_days,
    div_half_up_4(count_if(is_late), count(*)) as late_delivery_rate
from deliveries
group by customer_state
;

create table payment_mix_month as
select
    cast(date_trunc('month', o.order_purchase_timestamp) as date) as month,
    p.payment_type,
    count(*) as payments,
    count(distinct p.order_id) as orders,
    round(sum(p.payment_value), 2) as payment_value,
    round(div_half_up_4(sum(p.payment_installments), count(*)), 2) as avg_installments
from fct_payments as p
inner join fct_orders as o
    on p.order_id = o.order_id and o.order_status not in ('canceled', 'unavailable')
group by all
;
