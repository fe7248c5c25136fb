{#- One level's observations for the alert rules (int_kpi_alerts__observations): a `select` per catalog
    KPI of the grain and kinds, each kept only when a rule (or a rule's guard) at that level uses it.
    Amounts in the reporting currency; a ratio as its numerator and denominator. `columns` maps the
    subject columns (subject_id, store_id, sku, platform, region, is_complete_day) to expressions over
    `days` (the mart) and, for SKU rows, `stores` (kpi_daily). -#}
{% macro kpi_alert_observations(level, mart, grain, kinds, columns) -%}
    {%- for kpi in kpi_entries(grain, kinds) %}
    select
        '{{ level }}' as level,
        {% for name in ['subject_id', 'store_id', 'sku', 'platform', 'region', 'is_complete_day'] -%}
        {{ columns[name] }} as {{ name }},
        {% endfor -%}
        days.kpi_date as obs_date,
        '{{ kpi.name }}' as metric,
        '{{ kpi.kind }}' as metric_kind,
        cast({{ kpi.scale }} as {{ type_double() }}) as metric_scale,
        {%- if kpi.kind == 'ratio' %}
        {%- set num = kpi_lookup(kpi.numerator) %}{% set den = kpi_lookup(kpi.denominator) %}
        cast(days.{{ num.name ~ ('_reporting' if num.money else '') }} as {{ type_double() }}) as numerator,
        cast(days.{{ den.name ~ ('_reporting' if den.money else '') }} as {{ type_double() }}) as denominator,
        {%- else %}
        cast(days.{{ kpi.name ~ ('_reporting' if kpi.money else '') }} as {{ type_double() }}) as numerator,
        cast(null as {{ type_double() }}) as denominator,
        {%- endif %}
        cast(null as {{ type_text() }}) as owner_hint
    from {{ ref(mart) }} as days
    {%- if level == 'sku' %}
    left join store_days as stores on days.store_id = stores.store_id and days.kpi_date = stores.kpi_date
    {%- endif %}
    where exists (select 1 from used where used.level = '{{ level }}' and used.metric = '{{ kpi.name }}')
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
