{#- Portable (Spark and Trino): every row satisfies a SQL expression over its columns (null fails). -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce({{ expression }}, false)
{% endtest %}
