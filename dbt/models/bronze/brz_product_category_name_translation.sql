{{ bronze_from_landing('product_category_name_translation') }}
