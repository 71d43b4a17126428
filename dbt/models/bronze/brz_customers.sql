{{ bronze_from_landing('customers') }}
