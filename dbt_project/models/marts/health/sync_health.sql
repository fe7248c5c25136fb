{#- One row per store x source x entity that has ever been synced: the newest attempt, the last
    success, how many attempts failed in a row since, and whether the data is stale against the
    source's tolerance (seed sync_staleness_tolerance). Computed at build time (`built_at`). -#}
with

attempts as (
    select
        platform as source,
        store_id,
        entity,
        started_at,
        finished_at,
        status,
        error_class,
        error_message,
        http_status,
        row_count,
        window_end
    from {{ ref('stg_lake__sync_log') }}
),

ranked as (
    select
        *,
        row_number() over (partition by source, store_id, entity order by finished_at desc) as recency
    from attempts
),

last_success as (
    select
        source,
        store_id,
        entity,
        max(finished_at) as last_success_at,
        max(window_end) as synced_through
    from attempts
    where status = 'success'
    group by source, store_id, entity
),

failures_since as (
    select
        attempts.source,
        attempts.store_id,
        attempts.entity,
        count(*) as consecutive_failures
    from attempts
    left join last_success
        on
            last_success.source = attempts.source
            and last_success.store_id = attempts.store_id
            and last_success.entity = attempts.entity
    where
        attempts.status = 'failed'
        and (last_success.last_success_at is null or attempts.finished_at > last_success.last_success_at)
    group by attempts.source, attempts.store_id, attempts.entity
),

latest as (
    select * from ranked
    where recency = 1
),

built as (
    select cast(timezone('UTC', now()) as timestamp) as built_at
)

select
    latest.store_id,
    latest.source,
    latest.entity,
    latest.finished_at as last_attempt_at,
    latest.status as last_status,
    latest.error_class as last_error_class,
    latest.error_message as last_error_message,
    latest.http_status as last_http_status,
    last_success.last_success_at,
    last_success.synced_through,
    coalesce(failures_since.consecutive_failures, 0) as consecutive_failures,
    tolerance.tolerance_hours,
    {{ datediff_hours('last_success.last_success_at', 'built.built_at') }} as hours_since_success,
    coalesce(
        {{ datediff_hours('last_success.last_success_at', 'built.built_at') }} > tolerance.tolerance_hours,
        true
    ) as is_stale,
    built.built_at
from latest
cross join built
left join last_success
    on
        last_success.source = latest.source
        and last_success.store_id = latest.store_id
        and last_success.entity = latest.entity
left join failures_since
    on
        failures_since.source = latest.source
        and failures_since.store_id = latest.store_id
        and failures_since.entity = latest.entity
left join {{ ref('sync_staleness_tolerance') }} as tolerance on tolerance.source = latest.source
