{#- The same staged entity of every platform, stacked: each staging model keeps the column contract
    (docs/sources/README.md), and the union names the columns instead of relying on their order. -#}
{% macro union_platforms(models, columns) -%}
    {%- for model in models %}
    select
        {{ columns | join(',\n        ') }}
    from {{ ref(model) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
