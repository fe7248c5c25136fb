{#- One row per store x SKU x local day with activity: the catalog's SKU-grain measures and
    snapshots (int_kpi__sku_day) and the ratios from the day's sums. -#}
{%- set columns = kpi_columns('sku', 'store', ['measure', 'snapshot']) -%}
select
    sku_days.store_id,
    sku_days.platform,
    sku_days.sku,
    sku_days.kpi_date,
    sku_days.currency_code,
    sku_days.reporting_currency_code,
    sku_days.has_inventory_snapshot,
    coalesce(store_days.is_refund_cohort_mature, false) as is_refund_cohort_mature,
    {% for column in columns %}sku_days.{{ column }},
    {% endfor -%}
    {{ kpi_ratio_columns('sku', 'store', prefix='sku_days.') | join(',\n    ') }},
    case
        when sku_days.fulfillable_units is not null
            then {{ kpi_ratio('sku_days.units', 'sku_days.units + sku_days.fulfillable_units') }}
    end as sell_through_rate,
    {{ kpi_ratio('sku_days.cogs', 'sku_days.inventory_value_at_cost') }} as inventory_turnover
from {{ ref('int_kpi__sku_day') }} as sku_days
left join {{ ref('int_kpi__store_day') }} as store_days
    on store_days.store_id = sku_days.store_id and store_days.kpi_date = sku_days.kpi_date
