with

lines as (
    select * from {{ ref('int_order_lines') }}
    where exclusion_reason is null
),

fx as (
    select rate_day, currency_code, reporting_currency_code, rate_to_reporting
    from {{ ref('int_fx_rates__daily') }}
)

select
    lines.order_line_id,
    lines.order_id,
    lines.platform,
    lines.store_id,
    lines.order_date,
    lines.ordered_at,
    lines.sku,
    lines.product_id,
    lines.variant_id,
    lines.product_title,
    lines.quantity,
    lines.currency_code,
    lines.unit_price,
    lines.gross_amount,
    lines.discount_amount,
    lines.net_amount,
    fx.reporting_currency_code,
    fx.rate_to_reporting,
    lines.gross_amount * fx.rate_to_reporting as gross_amount_reporting,
    lines.discount_amount * fx.rate_to_reporting as discount_amount_reporting,
    lines.net_amount * fx.rate_to_reporting as net_amount_reporting
from lines
left join fx on fx.rate_day = lines.order_date and fx.currency_code = lines.currency_code
