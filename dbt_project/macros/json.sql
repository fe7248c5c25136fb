{#- JSON access to raw payloads, behind adapter dispatch so the models stay portable. -#}

{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text', 'kpi_platform')(column, path)) }}
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    json_extract_string({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro json_array(column, path) -%}
    {{ return(adapter.dispatch('json_array', 'kpi_platform')(column, path)) }}
{%- endmacro %}

{#- A list of JSON elements, to be unnested into one row per element. -#}
{% macro default__json_array(column, path) -%}
    cast(json_extract({{ column }}, '$.{{ path }}') as json[])
{%- endmacro %}
