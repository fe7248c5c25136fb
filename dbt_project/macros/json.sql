{#- JSON access to raw payloads, behind adapter dispatch so the models stay portable. A path is
    dotted (`payment.currency`), may index arrays (`fulfillments[0].created_at`) and quote a key
    with a dash (`"afn-fulfillable-quantity"`). -#}

{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text', 'kpi_platform')(column, path)) }}
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    json_extract_string({{ column }}, '$.{{ path }}')
{%- endmacro %}

{#- PostgreSQL: the raw loader stores payloads as jsonb; `#>>` takes the path as a text array. -#}
{% macro postgres__json_text(column, path) -%}
    (cast({{ column }} as jsonb) #>> '{{ json_path_array(path) }}')
{%- endmacro %}

{#- Spark: payloads and array elements are JSON text. -#}
{% macro spark__json_text(column, path) -%}
    get_json_object({{ column }}, '$.{{ path | replace('"', '') }}')
{%- endmacro %}

{#- `a.b[0]."c-d"` as the PostgreSQL path literal `{a,b,0,"c-d"}`. -#}
{% macro json_path_array(path) -%}
    {%- set parts = [] -%}
    {%- for part in path.replace('[', '.').replace(']', '').split('.') -%}
        {%- do parts.append(part) -%}
    {%- endfor -%}
    {{- '{' ~ parts | join(',') ~ '}' -}}
{%- endmacro %}

{#- One row per element of the JSON array at `path`: a set-returning expression for a select list
    (no row for a missing array); each element is JSON that json_text reads. -#}
{% macro json_array_elements(column, path) -%}
    {{ return(adapter.dispatch('json_array_elements', 'kpi_platform')(column, path)) }}
{%- endmacro %}

{% macro default__json_array_elements(column, path) -%}
    unnest(cast(json_extract({{ column }}, '$.{{ path }}') as json[]))
{%- endmacro %}

{% macro postgres__json_array_elements(column, path) -%}
    jsonb_array_elements(cast({{ column }} as jsonb) #> '{{ json_path_array(path) }}')
{%- endmacro %}

{#- from_json with an array<string> schema keeps each element (an object too) as its JSON text. -#}
{% macro spark__json_array_elements(column, path) -%}
    explode(from_json(get_json_object({{ column }}, '$.{{ path }}'), 'array<string>'))
{%- endmacro %}
