{#- Columns of the KPI marts, built from the catalog (kpi_catalog.yml -> macros/generated/kpi_catalog.sql),
    so that a KPI's formula is written once and every grain computes it the same way.
    mode 'store': amounts in the store's currency plus *_reporting (one store per row);
    mode 'rollup': several stores per row, so amounts only as *_reporting. -#}

{% macro kpi_entries(grain, kinds=none) -%}
    {%- set out = [] -%}
    {%- for kpi in kpi_catalog() -%}
        {%- if grain in kpi.grains and (kinds is none or kpi.kind in kinds) -%}
            {%- do out.append(kpi) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{% macro kpi_lookup(name) -%}
    {%- for kpi in kpi_catalog() -%}
        {%- if kpi.name == name -%}{{ return(kpi) }}{%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("KPI " ~ name ~ " is not in kpi_catalog.yml") }}
{%- endmacro %}

{#- The columns one KPI adds to a mart. -#}
{% macro kpi_value_columns(kpi, mode) -%}
    {%- if kpi.money and mode == 'rollup' -%}
        {{ return([kpi.name ~ '_reporting']) }}
    {%- elif kpi.money -%}
        {{ return([kpi.name, kpi.name ~ '_reporting']) }}
    {%- else -%}
        {{ return([kpi.name]) }}
    {%- endif -%}
{%- endmacro %}

{#- Every column of the given kinds at a grain, in catalog order. -#}
{% macro kpi_columns(grain, mode, kinds) -%}
    {%- set out = [] -%}
    {%- for kpi in kpi_entries(grain, kinds) -%}
        {%- for column in kpi_value_columns(kpi, mode) -%}{%- do out.append(column) -%}{%- endfor -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{#- `<aggregate>(<prefix>col) as col` for every column of the given kinds. -#}
{% macro kpi_aggregates(grain, mode, kinds, aggregate='sum', prefix='') -%}
    {%- set out = [] -%}
    {%- for column in kpi_columns(grain, mode, kinds) -%}
        {%- do out.append(aggregate ~ '(' ~ prefix ~ column ~ ') as ' ~ column) -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{#- A ratio of sums: null unless the denominator is positive. -#}
{% macro kpi_ratio(numerator, denominator, scale=1) -%}
    case when ({{ denominator }}) > 0 then cast({{ numerator }} as {{ type_double() }}) {% if scale != 1 %}* {{ scale }} {% endif %}/ ({{ denominator }}) end
{%- endmacro %}

{#- Every ratio KPI of the grain, from the sum columns in scope. A ratio of two amounts uses the
    store's currency in mode 'store' and the reporting currency in mode 'rollup'; an amount per count
    (AOV, CPC) comes in both currencies in mode 'store'. -#}
{% macro kpi_ratio_columns(grain, mode, prefix='') -%}
    {%- set out = [] -%}
    {%- for kpi in kpi_entries(grain, ['ratio']) -%}
        {%- set num = kpi_lookup(kpi.numerator) -%}
        {%- set den = kpi_lookup(kpi.denominator) -%}
        {%- if kpi.money -%}
            {%- if mode == 'store' -%}
                {%- do out.append(kpi_ratio(prefix ~ num.name, prefix ~ den.name, kpi.scale) ~ ' as ' ~ kpi.name) -%}
            {%- endif -%}
            {%- do out.append(
                kpi_ratio(prefix ~ num.name ~ '_reporting', prefix ~ den.name, kpi.scale) ~ ' as ' ~ kpi.name ~ '_reporting'
            ) -%}
        {%- else -%}
            {%- set suffix_num = '_reporting' if (mode == 'rollup' and num.money) else '' -%}
            {%- set suffix_den = '_reporting' if (mode == 'rollup' and den.money) else '' -%}
            {%- do out.append(
                kpi_ratio(prefix ~ num.name ~ suffix_num, prefix ~ den.name ~ suffix_den, kpi.scale) ~ ' as ' ~ kpi.name
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{#- Period over period for the catalog's `pop` KPIs of a store-grain mart: `current` and the
    previous/last-year rows `prev` and `ly` are relations joined by the caller. Amounts in the
    store's currency, so exchange rates do not move the change. -#}
{% macro kpi_period_over_period_columns(current='cur', prev='prev', ly='ly') -%}
    {%- set out = [] -%}
    {%- for kpi in kpi_entries('store') -%}
        {#- kpi['pop'], not kpi.pop: Jinja resolves that to the dict's pop method, always true -#}
        {%- if kpi['pop'] -%}
            {%- set c = kpi.name -%}
            {%- do out.append(prev ~ '.' ~ c ~ ' as ' ~ c ~ '_prev') -%}
            {%- do out.append(current ~ '.' ~ c ~ ' - ' ~ prev ~ '.' ~ c ~ ' as ' ~ c ~ '_change') -%}
            {%- do out.append(kpi_change_pct(current ~ '.' ~ c, prev ~ '.' ~ c) ~ ' as ' ~ c ~ '_change_pct') -%}
            {%- do out.append(ly ~ '.' ~ c ~ ' as ' ~ c ~ '_ly') -%}
            {%- do out.append(current ~ '.' ~ c ~ ' - ' ~ ly ~ '.' ~ c ~ ' as ' ~ c ~ '_ly_change') -%}
            {%- do out.append(kpi_change_pct(current ~ '.' ~ c, ly ~ '.' ~ c) ~ ' as ' ~ c ~ '_ly_change_pct') -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{% macro kpi_change_pct(current, previous) -%}
    case when {{ previous }} <> 0 then cast({{ current }} - {{ previous }} as {{ type_double() }}) / abs({{ previous }}) end
{%- endmacro %}

{#- First day of the ISO week (Monday) or month holding a date. -#}
{% macro period_start(period, date_column) -%}
    cast({{ dbt.date_trunc(period, date_column) }} as date)
{%- endmacro %}

{#- The period's last day. A quarter is added as 3 months: PostgreSQL has no '1 quarter' interval. -#}
{% macro period_end(period, date_column) -%}
    {%- set step, count = ('month', 3) if period == 'quarter' else (period, 1) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd(step, count, dbt.date_trunc(period, date_column))) }} as date)
{%- endmacro %}

{% macro add_days(days, date_column) -%}
    cast({{ dbt.dateadd('day', days, date_column) }} as date)
{%- endmacro %}

{% macro add_months(months, date_column) -%}
    cast({{ dbt.dateadd('month', months, date_column) }} as date)
{%- endmacro %}

{% macro add_hours(hours, timestamp_column) -%}
    {{ dbt.dateadd('hour', hours, timestamp_column) }}
{%- endmacro %}

{#- A unit cost (seed product_costs) in the store's currency: as entered when the currencies agree,
    else through the reporting currency at the day's rates; 0 for a SKU without a cost. -#}
{% macro unit_cost_in_store_currency(unit_cost, cost_currency, store_currency, cost_rate, store_rate) -%}
    case
        when {{ unit_cost }} is null then 0
        when {{ cost_currency }} = {{ store_currency }} then {{ unit_cost }}
        else {{ unit_cost }} * {{ cost_rate }} / {{ store_rate }}
    end
{%- endmacro %}

{% macro unit_cost_in_reporting_currency(unit_cost, cost_rate) -%}
    coalesce({{ unit_cost }} * {{ cost_rate }}, 0)
{%- endmacro %}

{#- The catalog's derived amounts (kpi_catalog.yml: net_sales, gross_profit, contribution), in both
    currencies, from the summed measures in scope. -#}
{% macro kpi_profit_columns(contribution=true) -%}
    {%- set out = [] -%}
    {%- for suffix in ['', '_reporting'] -%}
        {%- set net = 'gmv' ~ suffix ~ ' - discounts' ~ suffix ~ ' - refund_amount' ~ suffix -%}
        {%- do out.append(net ~ ' as net_sales' ~ suffix) -%}
        {%- do out.append(net ~ ' - cogs' ~ suffix ~ ' as gross_profit' ~ suffix) -%}
        {%- if contribution -%}
            {%- do out.append(
                net ~ ' - cogs' ~ suffix ~ ' - platform_fees' ~ suffix ~ ' - ad_spend' ~ suffix ~ ' as contribution' ~ suffix
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}
