{#- Orders kept out of every KPI, with the reason: the quarantine an analyst audits. -#}
select
    order_id,
    platform,
    store_id,
    order_name,
    order_date,
    ordered_at,
    cancelled_at,
    cancel_reason,
    currency_code,
    total_price,
    exclusion_reason
from {{ ref('int_orders') }}
where exclusion_reason is not null
