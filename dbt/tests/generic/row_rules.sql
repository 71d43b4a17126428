{#- Portable (Spark and Trino): every row of the model passes each of its row-level rules, all
    checked in one scan and one dbt node (a node per column and rule costs each run its fixed
    overhead, and in `dbt build` the model's children wait for every one of them). The rules:

      unique: [column, ...]                     no two rows share the values of these columns
                                                (nulls count as equal, as in a group by)
      not_null: [column, ...]                   the column has a value
      non_negative: [column, ...]               never below zero (nulls pass)
      accepted_values: {column: [value, ...]}   one of these values (nulls pass)
      within_range: {column: {min_value: x, max_value: y}}   either bound optional (nulls pass)
      expressions: {name: sql}                  true for every row (null fails)

    A failing row is returned with _failed_rules, the names of the rules it broke, comma
    separated: not_null(order_id), accepted_values(order_status), ... -#}
{% test row_rules(model, unique=[], not_null=[], non_negative=[], accepted_values={},
                  within_range={}, expressions={}) %}
{%- set rules = [] -%}
{%- if unique -%}
    {%- do rules.append(('unique(' ~ unique | join(', ') ~ ')', '_duplicated is null')) -%}
{%- endif -%}
{%- for column in not_null -%}
    {%- do rules.append(('not_null(' ~ column ~ ')', column ~ ' is not null')) -%}
{%- endfor -%}
{%- for column in non_negative -%}
    {%- do rules.append(('non_negative(' ~ column ~ ')', column ~ ' is null or ' ~ column ~ ' >= 0')) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}
        {%- do quoted.append("'" ~ value ~ "'") -%}
    {%- endfor -%}
    {%- do rules.append(('accepted_values(' ~ column ~ ')',
                         column ~ ' is null or ' ~ column ~ ' in (' ~ quoted | join(', ') ~ ')')) -%}
{%- endfor -%}
{%- for column, bounds in within_range.items() -%}
    {%- set checks = [] -%}
    {%- if bounds.get('min_value') is not none -%}
        {%- do checks.append(column ~ ' >= ' ~ bounds['min_value']) -%}
    {%- endif -%}
    {%- if bounds.get('max_value') is not none -%}
        {%- do checks.append(column ~ ' <= ' ~ bounds['max_value']) -%}
    {%- endif -%}
    {%- if not checks -%}
        {{ exceptions.raise_compiler_error("row_rules: within_range of " ~ column ~ " needs min_value, max_value or both") }}
    {%- endif -%}
    {%- do rules.append(('within_range(' ~ column ~ ')',
                         column ~ ' is null or (' ~ checks | join(' and ') ~ ')')) -%}
{%- endfor -%}
{%- for name, expression in expressions.items() -%}
    {%- do rules.append((name, expression)) -%}
{%- endfor -%}
{%- if not rules -%}
    {{ exceptions.raise_compiler_error("row_rules on " ~ model ~ " names no rule") }}
{%- endif -%}
with
-- the model as the test sees it: dbt may pass a filtered subquery (a `where` config), which
-- takes no alias of its own
model_source as (
    select * from {{ model }}
),
{%- if unique %}

duplicates as (
    select
        {{ unique | join(', ') }},
        true as _duplicated
    from model_source
    group by {{ unique | join(', ') }}
    having count(*) > 1
),

model_rows as (
    select
        _rows.*,
        _duplicates._duplicated
    from model_source as _rows
    left join duplicates as _duplicates
        on {% for column in unique %}_rows.{{ column }} is not distinct from _duplicates.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
),
{%- else %}

model_rows as (
    select * from model_source
),
{%- endif %}

checked as (
    select
        *,
        concat_ws(
            ', '
            {%- for name, condition in rules %},
            case when not coalesce({{ condition }}, false) then '{{ name }}' end
            {%- endfor %}
        ) as _failed_rules
    from model_rows
)

select *
from checked
where _failed_rules <> ''
{% endtest %}
