{#- One row per Shopee product comment (the latest version read). The comment text, media and the
    buyer's username stay in the raw lake. -#}
with

comments as (
    {{ latest_version(source('raw_shopee', 'reviews')) }}
),

renamed as (
    select
        cast({{ json_text('_payload', 'comment_id') }} as {{ type_text() }}) as review_id,
        _store_id as store_id,
        'shopee' as platform,
        nullif({{ json_text('_payload', 'order_sn') }}, '') as order_id,
        {{ json_text('_payload', 'item_id') }} as product_id,
        -- model_id is always 0 since 2024-12 (Shopee moved it to model_id_list)
        nullif(
            coalesce({{ json_text('_payload', 'model_id_list[0]') }}, {{ json_text('_payload', 'model_id') }}), '0'
        ) as variant_id,
        -- a comment names no SKU: int_reviews takes it from the reviewed order line
        cast(null as {{ type_text() }}) as sku,
        cast({{ json_text('_payload', 'rating_star') }} as integer) as rating,
        coalesce(cast({{ json_text('_payload', 'hidden') }} as boolean), false) as is_hidden,
        {{ epoch_to_utc(json_text('_payload', 'create_time')) }} as reviewed_at,
        {{ epoch_to_utc("nullif(" ~ json_text('_payload', 'comment_reply.create_time') ~ ", '0')") }} as replied_at
    from comments
)

select * from renamed
