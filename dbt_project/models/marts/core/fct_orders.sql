with

orders as (
    select * from {{ ref('int_orders') }}
    where exclusion_reason is null
),

lines as (
    select
        store_id,
        order_id,
        count(*) as line_count,
        sum(quantity) as units,
        sum(gross_amount) as gross_merchandise_value,
        sum(discount_amount) as discount_amount,
        sum(net_amount) as net_merchandise_value,
        sum(gross_amount_reporting) as gross_merchandise_value_reporting,
        sum(discount_amount_reporting) as discount_amount_reporting,
        sum(net_amount_reporting) as net_merchandise_value_reporting
    from {{ ref('fct_order_lines') }}
    group by store_id, order_id
),

fx as (
    select rate_day, currency_code, reporting_currency_code, rate_to_reporting
    from {{ ref('int_fx_rates__daily') }}
)

select
    orders.order_id,
    orders.platform,
    orders.store_id,
    orders.order_name,
    orders.order_date,
    orders.ordered_at,
    orders.updated_at,
    orders.buyer_id_hash,
    orders.order_status,
    orders.fulfillment_channel,
    orders.paid_at,
    orders.shipped_at,
    coalesce(lines.line_count, 0) as line_count,
    coalesce(lines.units, 0) as units,
    orders.currency_code,
    coalesce(lines.gross_merchandise_value, 0) as gross_merchandise_value,
    coalesce(lines.discount_amount, 0) as discount_amount,
    coalesce(lines.net_merchandise_value, 0) as net_merchandise_value,
    orders.total_shipping as shipping_amount,
    orders.total_tax as tax_amount,
    orders.total_price,
    fx.reporting_currency_code,
    fx.rate_to_reporting,
    lines.gross_merchandise_value_reporting,
    lines.discount_amount_reporting,
    lines.net_merchandise_value_reporting,
    orders.total_price * fx.rate_to_reporting as total_price_reporting
from orders
left join lines on lines.store_id = orders.store_id and lines.order_id = orders.order_id
left join fx on fx.rate_day = orders.order_date and fx.currency_code = orders.currency_code
