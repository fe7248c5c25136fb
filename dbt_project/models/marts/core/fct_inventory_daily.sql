{#- One row per store x SKU x local day with an inventory snapshot: the day's last snapshot, summed
    over the store's locations. Inventory APIs only tell the present, so days before the first sync
    have no row (history starts when syncing starts).

    Incremental (delete+insert on the grain). Snapshots only ever arrive for the present, so a run
    rebuilds each store's newest local day already here and every later day, from all their
    snapshots; older days cannot change. -#}
{{ config(
    materialized=fact_materialization(),
    incremental_strategy='delete+insert',
    unique_key=['store_id', 'sku', 'inventory_date'],
    on_schema_change='fail',
    post_hook="{{ log_incremental_batch() }}"
) }}
with

snapshots as (
    {{ union_platforms(
        ['stg_shopify__inventory_levels', 'stg_amazon__fba_inventory'],
        ['store_id', 'platform', 'sku', 'snapshot_at', 'fulfillable_quantity', 'reserved_quantity',
         'inbound_quantity', 'unsellable_quantity']
    ) }}
),

stores as (
    select store_id, timezone from {{ ref('stg_config__stores') }}
),

dated as (
    select
        snapshots.*,
        {{ local_date('snapshots.snapshot_at', 'stores.timezone') }} as inventory_date
    from snapshots
    inner join stores on stores.store_id = snapshots.store_id
    {% if is_incremental() -%}
    left join (
        select
            store_id,
            max(inventory_date) as newest_date
        from {{ this }}
        group by store_id
    ) as built on built.store_id = snapshots.store_id
    where
        built.newest_date is null
        or {{ local_date('snapshots.snapshot_at', 'stores.timezone') }} >= built.newest_date
    {%- endif %}
),

last_of_day as (
    select *
    from (
        select
            *,
            max(snapshot_at) over (partition by store_id, sku, inventory_date) as last_snapshot_at
        from dated
    ) as day_snapshots
    where snapshot_at = last_snapshot_at
)

select
    store_id,
    platform,
    sku,
    inventory_date,
    max(snapshot_at) as snapshot_at,
    sum(fulfillable_quantity) as fulfillable_quantity,
    sum(reserved_quantity) as reserved_quantity,
    sum(inbound_quantity) as inbound_quantity,
    sum(unsellable_quantity) as unsellable_quantity
from last_of_day
group by store_id, platform, sku, inventory_date
