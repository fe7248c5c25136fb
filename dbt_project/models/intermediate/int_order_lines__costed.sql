{#- One row per counted order line with its unit cost (seed product_costs, the row in force on the
    order's local day) converted to the store's and the reporting currency at the day's rate. A SKU
    without a cost gets cost 0 and is listed by the test on this model. -#}
with

lines as (
    select
        order_line_id,
        order_id,
        store_id,
        platform,
        order_date,
        coalesce(sku, '(none)') as sku,
        quantity,
        currency_code,
        rate_to_reporting
    from {{ ref('fct_order_lines') }}
),

costs as (
    select
        sku,
        currency_code as cost_currency_code,
        unit_cost,
        valid_from
    from {{ ref('product_costs') }}
),

candidates as (
    select
        lines.*,
        costs.cost_currency_code,
        costs.unit_cost,
        row_number() over (
            partition by lines.store_id, lines.order_line_id order by costs.valid_from desc
        ) as cost_rank
    from lines
    left join costs on costs.sku = lines.sku and costs.valid_from <= lines.order_date
),

fx as (
    select rate_day, currency_code, rate_to_reporting from {{ ref('int_fx_rates__daily') }}
)

select
    candidates.order_line_id,
    candidates.order_id,
    candidates.store_id,
    candidates.platform,
    candidates.order_date,
    candidates.sku,
    candidates.quantity,
    candidates.currency_code,
    candidates.unit_cost is not null as has_cost,
    {{ unit_cost_in_store_currency(
        'candidates.unit_cost', 'candidates.cost_currency_code', 'candidates.currency_code',
        'cost_fx.rate_to_reporting', 'candidates.rate_to_reporting'
    ) }} * candidates.quantity as cogs,
    {{ unit_cost_in_reporting_currency('candidates.unit_cost', 'cost_fx.rate_to_reporting') }}
    * candidates.quantity as cogs_reporting
from candidates
left join fx as cost_fx
    on cost_fx.rate_day = candidates.order_date and cost_fx.currency_code = candidates.cost_currency_code
where candidates.cost_rank = 1
