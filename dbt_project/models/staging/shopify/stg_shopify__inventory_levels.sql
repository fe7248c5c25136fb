with

-- a snapshot landed twice (a re-run part) counts once
source as (
    {{ first_per_partition(
        source('raw_shopify', 'inventory_levels'), ['_store_id', '_payload', '_record_updated_at'],
        '_store_id, _record_id, _record_updated_at', '_loaded_at desc'
    ) }}
),

renamed as (
    select
        _store_id as store_id,
        'shopify' as platform,
        cast({{ json_text('_payload', 'inventory_level.inventory_item_id') }} as {{ type_text() }})
            as inventory_item_id,
        cast({{ json_text('_payload', 'inventory_level.location_id') }} as {{ type_text() }}) as location_id,
        {{ json_text('_payload', 'inventory_item.sku') }} as sku,
        {{ to_utc(json_text('_payload', 'snapshot_at')) }} as snapshot_at,
        cast({{ json_text('_payload', 'inventory_level.available') }} as integer) as fulfillable_quantity,
        cast(null as integer) as reserved_quantity,
        cast(null as integer) as inbound_quantity,
        cast(null as integer) as unsellable_quantity
    from source
)

select * from renamed
