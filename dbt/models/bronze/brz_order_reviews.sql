{{ bronze_from_landing('order_reviews') }}
