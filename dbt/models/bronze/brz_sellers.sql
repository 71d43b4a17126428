{{ bronze_from_landing('sellers', [['seller_id', 'varchar'], ['seller_zip_code_prefix', 'varchar'], ['seller_city', 'varchar'], ['seller_state', 'varchar']]) }}
