{#- Scorecard rules (DECISIONS #56-#61): the as-of day, attainment, and the KPIs a scorecard can score. -#}

{#- The last day that counts: var scorecard_as_of (tests and backfills pin it), else yesterday, the
    newest day that can be complete. -#}
{% macro scorecard_as_of() -%}
    {%- if var('scorecard_as_of', none) -%}
        cast('{{ var("scorecard_as_of") }}' as date)
    {%- else -%}
        {{ add_days(-1, 'cast(' ~ dbt.current_timestamp() ~ ' as date)') }}
    {%- endif -%}
{%- endmacro %}

{#- Attainment of an actual against a target, direction-aware, clamped to [floor, cap]:
    higher_better actual / target; lower_better target / actual, where an actual at or below zero is
    the best possible (cap) and a positive actual against a zero target the worst (floor). A
    higher_better target at or below zero (the file check rejects one) gives cap when met, else floor.
    Null when the actual or the target is null. -#}
{% macro scorecard_attainment(actual, target, direction, floor, cap) -%}
    case
        when {{ actual }} is null or {{ target }} is null then null
        else least({{ cap }}, greatest({{ floor }},
            case
                when {{ direction }} = 'lower_better' then
                    case
                        when {{ actual }} <= 0 then {{ cap }}
                        when {{ target }} <= 0 then {{ floor }}
                        else {{ target }} / {{ actual }}
                    end
                when {{ target }} <= 0 then
                    case when {{ actual }} >= {{ target }} then {{ cap }} else {{ floor }} end
                else {{ actual }} / {{ target }}
            end
        ))
    end
{%- endmacro %}

{#- Catalog KPIs a scorecard can score: measures, snapshots and ratios at store, SKU or host grain
    (special KPIs - percentiles, distinct counts - are not additive over a subject's store-days). -#}
{% macro scorecard_kpis() -%}
    {%- set out = [] -%}
    {%- for kpi in kpi_catalog() -%}
        {%- if kpi.kind in ['measure', 'snapshot', 'ratio'] -%}{%- do out.append(kpi) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{#- The summed column a measure or snapshot KPI contributes to a subject: amounts in the reporting
    currency (a subject spans stores of several currencies). -#}
{% macro scorecard_column(kpi) -%}
    {{ return(kpi.name ~ ('_reporting' if kpi.money else '')) }}
{%- endmacro %}

{#- The additive (measure and snapshot) KPIs of a grain, as their summed column names. -#}
{% macro scorecard_additive_columns(grain) -%}
    {%- set out = [] -%}
    {%- for kpi in scorecard_kpis() -%}
        {%- if kpi.kind != 'ratio' and grain in kpi.grains -%}{%- do out.append(scorecard_column(kpi)) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{#- `days.<column>` for each column a grain has, a typed null for the others; the `guarded` columns
    only when `guard` holds (a LIVE host's host KPIs never come from the store's total). -#}
{% macro scorecard_grain_select(columns, present, guard=none, guarded=[]) -%}
    {%- set out = [] -%}
    {%- for column in columns -%}
        {%- if column not in present -%}
            {%- do out.append('cast(null as ' ~ dbt.type_float() ~ ') as ' ~ column) -%}
        {%- elif guard and column in guarded -%}
            {%- do out.append('case when ' ~ guard ~ ' then days.' ~ column ~ ' end as ' ~ column) -%}
        {%- else -%}
            {%- do out.append('days.' ~ column) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}
