{{ bronze_from_landing('geolocation') }}
