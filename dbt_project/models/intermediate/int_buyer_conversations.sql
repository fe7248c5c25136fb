{#- One row per buyer-started conversation of every platform with a chat API: when the buyer first
    wrote, when the seller first answered (null while unanswered) and the calendar hours between, dated
    by the store-local day of the buyer's first message. Conversations the seller opened (notices) are
    left out: no buyer waited for them. -#}
with

messages as (
    {{ union_platforms(
        ['stg_shopee__conversation_messages', 'stg_tiktok__conversation_messages'],
        ['message_id', 'conversation_id', 'store_id', 'platform', 'buyer_id_hash', 'sender_role', 'sent_at']
    ) }}
),

conversations as (
    select
        store_id,
        conversation_id,
        platform,
        min(buyer_id_hash) as buyer_id_hash,
        min(case when sender_role = 'buyer' then sent_at end) as first_buyer_message_at,
        min(case when sender_role = 'seller' then sent_at end) as first_seller_message_at
    from messages
    group by store_id, conversation_id, platform
),

-- started by the buyer: the seller had not written before the buyer's first message, so the seller's
-- first message is the first reply
buyer_started as (
    select * from conversations
    where
        first_buyer_message_at is not null
        and (first_seller_message_at is null or first_seller_message_at > first_buyer_message_at)
),

stores as (
    select store_id, timezone from {{ ref('stg_config__stores') }}
)

select
    buyer_started.conversation_id,
    buyer_started.store_id,
    buyer_started.platform,
    buyer_started.buyer_id_hash,
    buyer_started.first_buyer_message_at,
    buyer_started.first_seller_message_at as first_seller_reply_at,
    cast(
        {{ datediff_hours('buyer_started.first_buyer_message_at', 'buyer_started.first_seller_message_at') }}
        as {{ type_double() }}
    ) as first_response_hours,
    {{ local_date('buyer_started.first_buyer_message_at', 'stores.timezone') }} as message_date
from buyer_started
inner join stores on buyer_started.store_id = stores.store_id
