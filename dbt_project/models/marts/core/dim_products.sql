{#- One row per store x SKU seen in an order line or an inventory snapshot. Listing dates are not
    synced, so a SKU counts as listed from the day it was first seen (first sale or snapshot). -#}
with

sold as (
    select
        store_id,
        coalesce(sku, '(none)') as sku,
        min(order_date) as first_sold_date,
        max(order_date) as last_sold_date,
        max(product_title) as product_title
    from {{ ref('fct_order_lines') }}
    group by store_id, coalesce(sku, '(none)')
),

stocked as (
    select
        store_id,
        sku,
        min(inventory_date) as first_stocked_date
    from {{ ref('fct_inventory_daily') }}
    group by store_id, sku
),

keys as (
    select store_id, sku from sold
    union
    select store_id, sku from stocked
)

select
    keys.store_id,
    stores.platform,
    keys.sku,
    sold.product_title,
    case
        when sold.first_sold_date is null then stocked.first_stocked_date
        when stocked.first_stocked_date is null then sold.first_sold_date
        when sold.first_sold_date < stocked.first_stocked_date then sold.first_sold_date
        else stocked.first_stocked_date
    end as first_seen_date,
    sold.first_sold_date,
    sold.last_sold_date,
    stocked.first_stocked_date
from keys
inner join {{ ref('dim_stores') }} as stores on stores.store_id = keys.store_id
left join sold on sold.store_id = keys.store_id and sold.sku = keys.sku
left join stocked on stocked.store_id = keys.store_id and stocked.sku = keys.sku
