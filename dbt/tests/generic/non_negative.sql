{#- Portable (Spark and Trino): the column is never below zero (nulls pass). -#}
{% test non_negative(model, column_name) %}
select *
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
