{#- A pre-hook on every model: fail this model when var('fail_model') names it, so tests can prove
    that a failing model stops the run and is recorded as failed. Renders nothing otherwise. -#}
{% macro fail_if_requested() %}
    {%- if execute and var('fail_model', none) == this.identifier -%}
        {{ exceptions.raise_compiler_error("forced failure of " ~ this.identifier ~ " (var fail_model)") }}
    {%- endif -%}
{% endmacro %}
