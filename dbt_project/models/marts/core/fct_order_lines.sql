{#- One row per order line of the orders that count, native and reporting currency.

    Incremental (delete+insert by order: an order's lines are replaced together, so a line dropped
    from an edited order goes too). A run rebuilds the lines of the orders
    - whose latest version landed after the store's watermark (new orders, late edits, cancellations:
      lines ride in the order payload, so `_loaded_at` is the order version's);
    - that count but have no line here (an order no longer flagged as brushing: the flags are per
      store-day and per store-SKU, so orders that landed later can lift them);
    - dated on a local day whose FX rate changed since it was stored.
    Lines of orders that no longer count are deleted first (pre-hook). A change of the stores file's
    time zone or a removed store needs `--full-refresh`. -#}
{{ config(
    materialized=fact_materialization(),
    incremental_strategy='delete+insert',
    unique_key=['store_id', 'order_id'],
    on_schema_change='fail',
    post_hook="{{ log_incremental_batch() }}",
    pre_hook="{{ delete_excluded_rows(ref('int_orders'), ['store_id', 'order_id']) }}"
) }}

with

lines as (
    select * from {{ ref('int_order_lines') }}
    where exclusion_reason is null
),

{% if is_incremental() %}
watermarks as (
    {{ store_watermarks() }}
),

touched as (
    {{ touched_orders('lines') }}
),
{% endif %}

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
    lines.net_amount * fx.rate_to_reporting as net_amount_reporting,
    lines._loaded_at
from lines
{% if is_incremental() -%}
inner join touched on touched.store_id = lines.store_id and touched.order_id = lines.order_id
{% endif -%}
left join fx on fx.rate_day = lines.order_date and fx.currency_code = lines.currency_code
