-- a table, not a view: the view's SQL would carry the PII salt into the warehouse catalog
{{ config(materialized='table') }}

{#- One row per message of a TikTok Shop customer-service conversation (from the latest version of
    the conversation). Nicknames, avatars and message text stay in the raw lake. -#}
with

conversations as (
    {{ latest_version(source('raw_tiktok', 'conversations')) }}
),

participants as (
    select
        _store_id,
        _record_id,
        {{ json_array_elements('_payload', 'conversation.participants') }} as participant
    from conversations
),

buyers as (
    select
        _store_id,
        _record_id,
        min({{ json_text('participant', 'user_id') }}) as buyer_user_id
    from participants
    where {{ json_text('participant', 'role') }} = 'BUYER'
    group by _store_id, _record_id
),

messages as (
    select
        _store_id,
        _record_id,
        _payload,
        {{ json_array_elements('_payload', 'messages') }} as message
    from conversations
),

renamed as (
    select
        {{ json_text('messages.message', 'id') }} as message_id,
        {{ json_text('messages._payload', 'conversation.id') }} as conversation_id,
        messages._store_id as store_id,
        'tiktok' as platform,
        {{ hash_buyer_id("nullif(buyers.buyer_user_id, '')") }} as buyer_id_hash,
        -- agents (CUSTOMER_SERVICE) answer for the shop; SYSTEM and ROBOT messages are nobody's reply
        case {{ json_text('messages.message', 'sender.role') }}
            when 'BUYER' then 'buyer'
            when 'SHOP' then 'seller'
            when 'CUSTOMER_SERVICE' then 'seller'
            else 'other'
        end as sender_role,
        {{ json_text('messages.message', 'type') }} as message_type,
        {{ epoch_to_utc(json_text('messages.message', 'create_time')) }} as sent_at
    from messages
    left join buyers
        on messages._store_id = buyers._store_id and messages._record_id = buyers._record_id
)

select * from renamed
