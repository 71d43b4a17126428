{{ bronze_from_landing('products') }}
