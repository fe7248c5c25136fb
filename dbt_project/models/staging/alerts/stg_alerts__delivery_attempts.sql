with

source as (
    {% if alert_history_present() %}
        select * from {{ source('alerts', 'delivery_history') }}
    {% else %}
        {{ alert_history_empty() }}
    {% endif %}
),

renamed as (
    select
        md5(
            concat_ws('|', notification_id, channel, status, attempt, cast(attempted_at as {{ type_text() }}))
        ) as attempt_id,
        notification_id,
        kind as notification_kind,
        {{ timestamptz_to_utc('notified_at') }} as notified_at,
        alert_key,
        condition_key,
        source as alert_source,
        rule_id,
        severity,
        owner,
        title,
        subject,
        details,
        channel,
        channel_type,
        status,
        attempt,
        http_status,
        error_class,
        error as error_message,
        {{ timestamptz_to_utc('attempted_at') }} as attempted_at
    from source
)

select * from renamed
