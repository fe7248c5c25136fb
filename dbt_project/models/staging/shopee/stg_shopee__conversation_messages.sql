-- a table, not a view: the view's SQL would carry the PII salt into the warehouse catalog
{{ config(materialized='table') }}

{#- One row per message of a Shopee buyer chat (from the latest version of its conversation). The
    buyer's username and the message text stay in the raw lake. -#}
with

conversations as (
    {{ latest_version(source('raw_shopee', 'conversations')) }}
),

messages as (
    select
        _store_id,
        _payload,
        {{ json_array_elements('_payload', 'messages') }} as message
    from conversations
),

renamed as (
    select
        {{ json_text('message', 'message_id') }} as message_id,
        {{ json_text('_payload', 'conversation.conversation_id') }} as conversation_id,
        _store_id as store_id,
        'shopee' as platform,
        {{ hash_buyer_id("nullif(" ~ json_text('_payload', 'conversation.to_id') ~ ", '0')") }} as buyer_id_hash,
        -- the conversation's to_id is the buyer; the shop's own messages carry its shop id
        case
            when {{ json_text('message', 'from_id') }} = {{ json_text('_payload', 'conversation.to_id') }}
                then 'buyer'
            when coalesce({{ json_text('message', 'from_shop_id') }}, '0') <> '0' then 'seller'
            else 'other'
        end as sender_role,
        {{ json_text('message', 'message_type') }} as message_type,
        {{ epoch_to_utc(json_text('message', 'created_timestamp')) }} as sent_at
    from messages
)

select * from renamed
