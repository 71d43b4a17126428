{{ bronze_from_landing('orders') }}
