{{ bronze_from_landing('order_payments') }}
