{#- One row per product review of every platform that has a review API (Shopee; TikTok Shop offers
    none to sellers), with its rating, the negative flag (<= 2 stars) and the store-local review date.
    The SKU comes from the reviewed order line when the review does not name it. -#}
with

reviews as (
    {{ union_platforms(
        ['stg_shopee__reviews'],
        ['review_id', 'store_id', 'platform', 'sku', 'product_id', 'variant_id', 'order_id', 'rating',
         'reviewed_at']
    ) }}
),

order_skus as (
    select
        store_id,
        order_id,
        product_id,
        min(sku) as sku
    from {{ ref('int_order_lines') }}
    group by store_id, order_id, product_id
),

stores as (
    select store_id, timezone from {{ ref('stg_config__stores') }}
)

select
    reviews.review_id,
    reviews.store_id,
    reviews.platform,
    coalesce(reviews.sku, order_skus.sku) as sku,
    reviews.product_id,
    reviews.order_id,
    reviews.rating,
    reviews.rating <= 2 as is_negative,
    reviews.reviewed_at,
    {{ local_date('reviews.reviewed_at', 'stores.timezone') }} as review_date
from reviews
inner join stores on reviews.store_id = stores.store_id
left join order_skus
    on
        reviews.store_id = order_skus.store_id
        and reviews.order_id = order_skus.order_id
        and reviews.product_id = order_skus.product_id
