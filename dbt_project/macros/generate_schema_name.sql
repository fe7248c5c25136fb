{#- Custom schemas are used as named (marts, staging, ...), not prefixed with the target schema:
    `marts` is the public contract that analysts and BI tools connect to. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
