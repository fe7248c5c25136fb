{#- One row per platform fee line, all platforms (today Amazon's financial events), native and
    reporting currency (converted at the posted local date, when the money moved), with the fee's
    order date for per-order margins.

    Incremental (delete+insert on store_id, fee_id). A run rebuilds the fee lines whose financial
    event, or whose order, landed after the store's watermark, and those posted on a local day whose
    FX rate changed since it was stored. Nothing is removed: fees are kept whatever the order's
    exclusion, since the platform charged them. -#}
{{ config(
    materialized=fact_materialization(),
    incremental_strategy='delete+insert',
    unique_key=['store_id', 'fee_id'],
    on_schema_change='fail',
    post_hook="{{ log_incremental_batch() }}"
) }}

with

fees as (
    {{ union_platforms(
        ['stg_amazon__fees'],
        ['fee_id', 'financial_event_id', 'store_id', 'platform', 'order_id', 'order_line_id', 'event_kind',
         'fee_type', 'fee_amount', 'currency_code', 'posted_at', '_loaded_at as fee_loaded_at']
    ) }}
),

stores as (
    select store_id, timezone from {{ ref('stg_config__stores') }}
),

dated as (
    select
        fees.*,
        {{ local_date('fees.posted_at', 'stores.timezone') }} as posted_date,
        orders.order_date,
        orders.exclusion_reason as order_exclusion_reason,
        greatest(fees.fee_loaded_at, coalesce(orders._loaded_at, fees.fee_loaded_at)) as _loaded_at
    from fees
    inner join stores on stores.store_id = fees.store_id
    left join {{ ref('int_orders') }} as orders
        on orders.store_id = fees.store_id and orders.order_id = fees.order_id
),

{% if is_incremental() %}
watermarks as (
    {{ store_watermarks() }}
),

touched as (
    select
        dated.store_id,
        dated.fee_id
    from dated
    left join watermarks on watermarks.store_id = dated.store_id
    where {{ loaded_since_watermark('dated._loaded_at', 'watermarks.watermark') }}
    union
    select
        dated.store_id,
        dated.fee_id
    from dated
    inner join ({{ fx_changed_days('posted_date') }}) as changed
        on changed.rate_day = dated.posted_date and changed.currency_code = dated.currency_code
),
{% endif %}

fx as (
    select rate_day, currency_code, reporting_currency_code, rate_to_reporting
    from {{ ref('int_fx_rates__daily') }}
)

select
    dated.fee_id,
    dated.financial_event_id,
    dated.store_id,
    dated.platform,
    dated.order_id,
    dated.order_line_id,
    dated.event_kind,
    dated.fee_type,
    dated.posted_at,
    dated.posted_date,
    dated.order_date,
    dated.order_exclusion_reason,
    dated.currency_code,
    dated.fee_amount,
    fx.reporting_currency_code,
    fx.rate_to_reporting,
    dated.fee_amount * fx.rate_to_reporting as fee_amount_reporting,
    dated._loaded_at
from dated
{% if is_incremental() -%}
inner join touched on touched.store_id = dated.store_id and touched.fee_id = dated.fee_id
{% endif -%}
left join fx on fx.rate_day = dated.posted_date and fx.currency_code = dated.currency_code
