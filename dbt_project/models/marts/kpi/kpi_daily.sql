{#- One row per store x local day: the catalog's measures and snapshots (int_kpi__store_day), the
    ratios recomputed from the day's sums, and the day's distinct-SKU KPIs. Columns and their
    definitions: kpi_catalog.yml. -#}
{%- set columns = kpi_columns('store', 'store', ['measure', 'snapshot']) -%}
with

days as (
    select
        *,
        kpi_date as period_start,
        kpi_date as period_end,
        inventory_value_at_cost as avg_inventory_value_at_cost
    from {{ ref('int_kpi__store_day') }}
),

sku_counts as (
    {{ kpi_sku_counts('days') }}
),

responses as (
    {{ kpi_response_percentiles([
        ('store_id', 'conversations.store_id'),
        ('kpi_date', 'conversations.message_date'),
    ]) }}
)

select
    days.store_id,
    days.platform,
    days.region,
    days.kpi_date,
    days.is_complete_day,
    days.is_refund_cohort_mature,
    days.has_inventory_snapshot,
    days.currency_code,
    days.reporting_currency_code,
    {% for column in columns %}days.{{ column }},
    {% endfor -%}
    {{ kpi_ratio_columns('store', 'store', prefix='days.') | join(',\n    ') }},
    {{ kpi_special_columns('days', 'sku_counts') }},
    responses.first_response_hours_median,
    responses.first_response_hours_p90
from days
left join sku_counts on sku_counts.store_id = days.store_id and sku_counts.period_start = days.period_start
left join responses on responses.store_id = days.store_id and responses.kpi_date = days.kpi_date
