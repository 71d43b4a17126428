{{ bronze_from_landing('sellers') }}
