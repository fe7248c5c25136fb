with

refunds as (
    select * from {{ ref('int_refunds') }}
    where exclusion_reason is null
),

fx as (
    select rate_day, currency_code, reporting_currency_code, rate_to_reporting
    from {{ ref('int_fx_rates__daily') }}
)

select
    refunds.refund_line_id,
    refunds.refund_id,
    refunds.order_id,
    refunds.order_line_id,
    refunds.platform,
    refunds.store_id,
    refunds.refund_date,
    refunds.order_date,
    refunds.processed_at as refunded_at,
    refunds.created_at,
    refunds.refund_note,
    refunds.restock_type,
    refunds.quantity,
    refunds.currency_code,
    refunds.refund_amount,
    refunds.refund_tax_amount,
    fx.reporting_currency_code,
    fx.rate_to_reporting,
    refunds.refund_amount * fx.rate_to_reporting as refund_amount_reporting
from refunds
left join fx on fx.rate_day = refunds.refund_date and fx.currency_code = refunds.currency_code
