{{ bronze_from_landing('product_category_name_translation', [['product_category_name', 'varchar'], ['product_category_name_english', 'varchar']]) }}
