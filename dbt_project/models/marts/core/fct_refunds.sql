{#- One row per refund line of the orders that count, with the refund date and the order date.

    Incremental (delete+insert on store_id, refund_line_id). A run rebuilds the refund lines
    - whose refund, or whose order, landed after the store's watermark (`_loaded_at` is the newer of
      the two: the order's version decides the exclusion and the order date);
    - that count but are not here (their order is no longer flagged as brushing);
    - refunded on a local day whose FX rate changed since it was stored.
    Refund lines of orders that no longer count are deleted first (pre-hook). A change of the stores
    file's time zone or a removed store needs `--full-refresh`. -#}
{{ config(
    materialized=fact_materialization(),
    incremental_strategy='delete+insert',
    unique_key=['store_id', 'refund_line_id'],
    on_schema_change='fail',
    post_hook="{{ log_incremental_batch() }}",
    pre_hook="{{ delete_excluded_rows(ref('int_refunds'), ['store_id', 'refund_line_id']) }}"
) }}

with

refunds as (
    select * from {{ ref('int_refunds') }}
    where exclusion_reason is null
),

{% if is_incremental() %}
watermarks as (
    {{ store_watermarks() }}
),

touched as (
    select
        refunds.store_id,
        refunds.refund_line_id
    from refunds
    left join watermarks on watermarks.store_id = refunds.store_id
    where {{ loaded_since_watermark('refunds._loaded_at', 'watermarks.watermark') }}
    union
    select
        refunds.store_id,
        refunds.refund_line_id
    from refunds
    where not exists (
        select 1 from {{ this }} as built
        where built.store_id = refunds.store_id and built.refund_line_id = refunds.refund_line_id
    )
    union
    select
        refunds.store_id,
        refunds.refund_line_id
    from refunds
    inner join ({{ fx_changed_days('refund_date') }}) as changed
        on changed.rate_day = refunds.refund_date and changed.currency_code = refunds.currency_code
),
{% endif %}

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
    refunds.refund_amount * fx.rate_to_reporting as refund_amount_reporting,
    refunds._loaded_at
from refunds
{% if is_incremental() -%}
inner join touched on touched.store_id = refunds.store_id and touched.refund_line_id = refunds.refund_line_id
{% endif -%}
left join fx on fx.rate_day = refunds.refund_date and fx.currency_code = refunds.currency_code
