{{ config(unique_key='product_id') }}

-- Products with their English category: the landed translation, else the project's seed of
-- Olist's translations, else the Portuguese name, else 'unknown'. A landed translation that
-- changes in a run re-merges the products of that category (a changed seed needs a full refresh).
with checked as (
    select * from {{ ref('int_products_checked') }}
),

categories as (
    select * from {{ ref('dim_product_categories') }}
),

seeded as (
    select product_category_name, product_category_name_english
    from {{ ref('seed_category_translation') }}
),

latest as (
    {{ silver_latest_accepted('checked', ['product_id']) }}
),

changed_products as (
    select
        product_id,
        product_category_name,
        product_name_lenght,
        product_description_lenght,
        product_photos_qty,
        product_weight_g,
        product_length_cm,
        product_height_cm,
        product_width_cm,
        {{- silver_added_select('products') }}
        _batch_id,
        _row_hash,
        _source_file,
        _ingested_at
    from latest
),

{% if is_incremental() %}
recategorised as (
    select
        current_version.product_id,
        current_version.product_category_name,
        current_version.product_name_lenght,
        current_version.product_description_lenght,
        current_version.product_photos_qty,
        current_version.product_weight_g,
        current_version.product_length_cm,
        current_version.product_height_cm,
        current_version.product_width_cm,
        {{- silver_added_select('products', 'current_version.', this) }}
        current_version._batch_id,
        current_version._row_hash,
        current_version._source_file,
        current_version._ingested_at
    from {{ this }} as current_version
    left semi join categories
        on current_version.product_category_name = categories.product_category_name
        and categories._invocation_id = '{{ invocation_id }}'
    left anti join changed_products
        on current_version.product_id = changed_products.product_id
),
{% endif %}

products as (
    select * from changed_products
    {%- if is_incremental() %}
    union all
    select * from recategorised
    {%- endif %}
),

final as (
    select
        products.product_id,
        products.product_category_name,
        coalesce(
            categories.product_category_name_english, seeded.product_category_name_english
        ) as product_category_name_english,
        coalesce(
            categories.product_category_name_english,
            seeded.product_category_name_english,
            products.product_category_name,
            'unknown'
        ) as category,
        products.product_name_lenght,
        products.product_description_lenght,
        products.product_photos_qty,
        products.product_weight_g,
        products.product_length_cm,
        products.product_height_cm,
        products.product_width_cm,
        {{- silver_added_select('products', 'products.') }}
        products._batch_id,
        products._row_hash,
        products._source_file,
        products._ingested_at,
        {{ silver_run_columns() }}
    from products
    left join categories on products.product_category_name = categories.product_category_name
    left join seeded on products.product_category_name = seeded.product_category_name
)

select * from final
