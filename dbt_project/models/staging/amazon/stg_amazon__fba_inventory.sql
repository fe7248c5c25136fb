with

-- Every snapshot is kept (stock over time); a snapshot landed twice counts once.
source as (
    {{ first_per_partition(
        source('raw_amazon', 'fba_inventory'), raw_lake_columns(),
        "_store_id, _record_id, " ~ json_text('_payload', 'snapshot_at'), '_loaded_at desc, _sync_id desc'
    ) }}
),

renamed as (
    select
        _store_id as store_id,
        'amazon' as platform,
        _record_id as sku,
        {{ json_text('_payload', 'asin') }} as asin,
        {{ to_utc(json_text('_payload', 'snapshot_at')) }} as snapshot_at,
        -- report cells are text and may be blank: try_cast keeps a blank or odd cell as null
        {{ try_cast_integer(json_text('_payload', '"afn-fulfillable-quantity"')) }} as fulfillable_quantity,
        {{ try_cast_integer(json_text('_payload', '"afn-reserved-quantity"')) }} as reserved_quantity,
        coalesce({{ try_cast_integer(json_text('_payload', '"afn-inbound-working-quantity"')) }}, 0)
        + coalesce({{ try_cast_integer(json_text('_payload', '"afn-inbound-shipped-quantity"')) }}, 0)
        + coalesce({{ try_cast_integer(json_text('_payload', '"afn-inbound-receiving-quantity"')) }}, 0)
            as inbound_quantity,
        {{ try_cast_integer(json_text('_payload', '"afn-unsellable-quantity"')) }} as unsellable_quantity
    from source
)

select * from renamed
