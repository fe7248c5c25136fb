with

attempts as (
    select * from {{ ref('stg_alerts__delivery_attempts') }}
),

newest_per_condition as (
    select
        condition_key,
        max(notified_at) as newest_notified_at
    from attempts
    group by condition_key
),

per_channel as (
    select
        notification_id,
        channel,
        {{ any_value('notification_kind') }} as notification_kind,
        {{ any_value('notified_at') }} as notified_at,
        {{ any_value('alert_key') }} as alert_key,
        {{ any_value('condition_key') }} as condition_key,
        {{ any_value('alert_source') }} as alert_source,
        {{ any_value('rule_id') }} as rule_id,
        {{ any_value('severity') }} as severity,
        {{ any_value('owner') }} as owner,
        {{ any_value('title') }} as title,
        {{ any_value('subject') }} as subject,
        {{ any_value('channel_type') }} as channel_type,
        count(*) filter (where status in ('delivered', 'failed')) as attempts,
        count(*) filter (where status = 'failed') as failed_attempts,
        count(*) filter (where status = 'deferred') as deferrals,
        min(attempted_at) as first_attempted_at,
        max(attempted_at) as last_attempted_at,
        min(attempted_at) filter (where status = 'delivered') as delivered_at,
        {{ arg_max('error_class', 'attempted_at', "status in ('failed', 'deferred')") }} as last_error_class,
        {{ arg_max('http_status', 'attempted_at', "status in ('delivered', 'failed')") }} as last_http_status,
        bool_or(status = 'delivered') as is_delivered,
        bool_or(status = 'unrouted') as is_unrouted,
        bool_or(status = 'skipped') as is_skipped
    from attempts
    group by notification_id, channel
)

select
    per_channel.notification_id,
    per_channel.channel,
    per_channel.channel_type,
    per_channel.notification_kind,
    per_channel.notified_at,
    per_channel.alert_key,
    per_channel.condition_key,
    per_channel.alert_source,
    per_channel.rule_id,
    per_channel.severity,
    per_channel.owner,
    per_channel.title,
    per_channel.subject,
    case
        when per_channel.is_delivered then 'delivered'
        when per_channel.is_unrouted then 'unrouted'
        when per_channel.is_skipped then 'skipped'
        when per_channel.notified_at < newest_per_condition.newest_notified_at then 'superseded'
        else 'failed'
    end as final_status,
    per_channel.attempts,
    per_channel.failed_attempts,
    per_channel.deferrals,
    per_channel.first_attempted_at,
    per_channel.last_attempted_at,
    per_channel.delivered_at,
    per_channel.last_error_class,
    per_channel.last_http_status
from per_channel
inner join newest_per_condition
    on per_channel.condition_key = newest_per_condition.condition_key
