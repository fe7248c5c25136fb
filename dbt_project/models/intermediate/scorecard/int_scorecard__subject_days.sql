{#- One row per subject x local day with data: the additive KPIs (measures and stock snapshots) summed
    over the store-days, SKU-days and LIVE host-days assigned to the subject on that day, amounts in
    the reporting currency. A store-day, SKU-day or host-day counts once per subject however many
    assignments cover it (a team's members may share a store); SKU-days of a store-day the subject
    holds whole are not added again. Host KPIs of a LIVE host come only from their own streams. -#}
{%- set store_columns = scorecard_additive_columns('store') -%}
{%- set sku_columns = scorecard_additive_columns('sku') -%}
{%- set host_columns = scorecard_additive_columns('host') -%}
{%- set all_columns = store_columns + (sku_columns | reject('in', store_columns) | list) -%}
{%- set all_columns = all_columns + (host_columns | reject('in', all_columns) | list) -%}
{%- set day_sums = [] -%}
{%- for column in all_columns -%}{%- do day_sums.append('sum(' ~ column ~ ') as ' ~ column) -%}{%- endfor %}
{#- a LIVE host is scored on their own streams: host KPIs of their store-days are nulled -#}
with

as_of as (
    select {{ scorecard_as_of() }} as as_of_date
),

assignments as (
    select * from {{ ref('dim_assignments') }}
),

subjects as (
    select subject_id, live_host_name from {{ ref('dim_subjects') }}
),

store_units as (
    select distinct
        assignments.subject_id,
        days.store_id,
        days.kpi_date
    from assignments
    inner join {{ ref('kpi_daily') }} as days
        on
            days.store_id = assignments.store_id
            and days.kpi_date >= assignments.valid_from
            and (assignments.valid_to is null or days.kpi_date < assignments.valid_to)
    cross join as_of
    where assignments.sku_set is null and days.kpi_date <= as_of.as_of_date
),

sku_units as (
    select distinct
        assignments.subject_id,
        days.store_id,
        days.sku,
        days.kpi_date
    from assignments
    inner join {{ ref('scorecard_sku_sets') }} as sku_sets on sku_sets.sku_set = assignments.sku_set
    inner join {{ ref('kpi_daily_sku') }} as days
        on
            days.store_id = assignments.store_id
            and days.sku = sku_sets.sku
            and days.kpi_date >= assignments.valid_from
            and (assignments.valid_to is null or days.kpi_date < assignments.valid_to)
    cross join as_of
    where days.kpi_date <= as_of.as_of_date
),

host_units as (
    select distinct
        store_units.subject_id,
        hosts.store_id,
        hosts.host,
        hosts.kpi_date
    from store_units
    inner join subjects on subjects.subject_id = store_units.subject_id
    inner join {{ ref('kpi_live_host_daily') }} as hosts
        on
            hosts.store_id = store_units.store_id
            and hosts.kpi_date = store_units.kpi_date
            and hosts.host = subjects.live_host_name
),

rows_by_grain as (
    select
        store_units.subject_id,
        store_units.kpi_date,
        {{ scorecard_grain_select(all_columns, store_columns, 'subjects.live_host_name is null', host_columns)
            | join(',\n        ') }}
    from store_units
    inner join subjects on subjects.subject_id = store_units.subject_id
    inner join {{ ref('kpi_daily') }} as days
        on days.store_id = store_units.store_id and days.kpi_date = store_units.kpi_date

    union all

    select
        sku_units.subject_id,
        sku_units.kpi_date,
        {{ scorecard_grain_select(all_columns, sku_columns) | join(',\n        ') }}
    from sku_units
    inner join {{ ref('kpi_daily_sku') }} as days
        on days.store_id = sku_units.store_id and days.sku = sku_units.sku and days.kpi_date = sku_units.kpi_date
    left join store_units as whole
        on
            whole.subject_id = sku_units.subject_id
            and whole.store_id = sku_units.store_id
            and whole.kpi_date = sku_units.kpi_date
    where whole.subject_id is null

    union all

    select
        host_units.subject_id,
        host_units.kpi_date,
        {{ scorecard_grain_select(all_columns, host_columns) | join(',\n        ') }}
    from host_units
    inner join {{ ref('kpi_live_host_daily') }} as days
        on days.store_id = host_units.store_id and days.host = host_units.host and days.kpi_date = host_units.kpi_date
)

select
    subject_id,
    kpi_date,
    {{ day_sums | join(',\n    ') }}
from rows_by_grain
group by subject_id, kpi_date
