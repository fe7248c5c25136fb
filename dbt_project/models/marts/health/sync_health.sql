{#- One row per store x source x entity that has ever been synced: the newest attempt, the last
    success, how many attempts failed in a row since, staleness against the source's tolerance (seed
    sync_staleness_tolerance), the first gap in the successfully synced windows, the newest success's
    volume against the median of the ones before, and the days until the store's first credential of
    the source expires (seed credential_lifetimes, dates from the stores file). Each concern gets a
    level (ok, warn, error) from seed sync_health_thresholds. Computed as of `built_at`. -#}
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
        window_start,
        window_end
    from {{ ref('stg_lake__sync_log') }}
),

built as (
    select
        {%- if var('health_as_of') %}
            cast('{{ var("health_as_of") }}' as timestamp) as built_at
        {%- else %}
            {{ utc_now() }} as built_at
        {%- endif %}
),

thresholds as (
    select
        max(case when concern = 'staleness' then warn_at end) as stale_warn,
        max(case when concern = 'staleness' then error_at end) as stale_error,
        max(case when concern = 'consecutive_failures' then warn_at end) as failures_warn,
        max(case when concern = 'consecutive_failures' then error_at end) as failures_error,
        max(case when concern = 'credential_days_left' then warn_at end) as credential_warn,
        max(case when concern = 'credential_days_left' then error_at end) as credential_error,
        max(case when concern = 'window_gap_hours' then warn_at end) as gap_warn,
        max(case when concern = 'window_gap_hours' then error_at end) as gap_error,
        max(case when concern = 'volume_ratio' then warn_at end) as volume_warn,
        max(case when concern = 'volume_ratio' then error_at end) as volume_error
    from {{ ref('sync_health_thresholds') }}
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

-- Gaps: a successful window that starts after everything synced before it ended.
success_windows as (
    select
        source,
        store_id,
        entity,
        window_start,
        max(window_end) over (
            partition by source, store_id, entity
            order by window_start, window_end
            rows between unbounded preceding and 1 preceding
        ) as covered_until
    from attempts
    where status = 'success'
),

gaps as (
    select
        source,
        store_id,
        entity,
        covered_until as gap_start,
        window_start as gap_end,
        count(*) over (partition by source, store_id, entity) as gap_count,
        max({{ datediff_hours('covered_until', 'window_start') }}) over (
            partition by source, store_id, entity
        ) as largest_gap_hours,
        row_number() over (partition by source, store_id, entity order by window_start) as gap_order
    from success_windows
    where window_start > covered_until
),

first_gap as (
    select * from gaps
    where gap_order = 1
),

-- Volume: records per window day (windows of a backfill and of a daily run compare fairly).
success_volume as (
    select
        source,
        store_id,
        entity,
        row_count,
        row_count * 24.0 / greatest({{ datediff_hours('window_start', 'window_end') }}, 1.0) as rows_per_day,
        row_number() over (partition by source, store_id, entity order by finished_at desc) as success_recency
    from attempts
    where status = 'success'
),

volume as (
    select
        source,
        store_id,
        entity,
        max(case when success_recency = 1 then row_count end) as newest_success_rows,
        max(case when success_recency = 1 then rows_per_day end) as newest_rows_per_day,
        percentile_cont(0.5) within group (
            order by case when success_recency between 2 and {{ var('volume_history_syncs') }} + 1 then rows_per_day end
        ) as median_rows_per_day_before,
        count(
            case when success_recency between 2 and {{ var('volume_history_syncs') }} + 1 then 1 end
        ) as volume_history_syncs
    from success_volume
    group by source, store_id, entity
),

-- Credentials: days left per credential with a lifetime; the first to expire speaks for the store x source.
source_success as (
    select
        source,
        store_id,
        cast(max(last_success_at) as date) as last_success_on
    from last_success
    group by source, store_id
),

credential_expiry as (
    select
        credentials.store_id,
        credentials.source,
        credentials.credential,
        credentials.env_var,
        lifetimes.label as credential_label,
        lifetimes.renew_action,
        lifetimes.lifetime_days,
        credentials.issued_on,
        case
            when lifetimes.counts_from_last_sync and source_success.last_success_on > credentials.issued_on
                then source_success.last_success_on
            else credentials.issued_on
        end + lifetimes.lifetime_days as expires_on
    from {{ ref('stg_config__store_credentials') }} as credentials
    inner join {{ ref('credential_lifetimes') }} as lifetimes
        on
            lifetimes.source = credentials.source
            and lifetimes.credential = credentials.credential
    left join source_success
        on
            source_success.source = credentials.source
            and source_success.store_id = credentials.store_id
    where lifetimes.lifetime_days is not null
),

first_expiring as (
    select
        *,
        row_number() over (partition by store_id, source order by expires_on) as expiry_order
    from credential_expiry
    where expires_on is not null
),

unknown_expiry as (
    select
        store_id,
        source,
        {{ string_agg_ordered("credential || ' (' || env_var || ')'", "', '", 'credential') }}
            as credentials_expiry_unknown
    from credential_expiry
    where issued_on is null
    group by store_id, source
),

measured as (
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
        first_gap.gap_start as first_gap_start,
        first_gap.gap_end as first_gap_end,
        {{ datediff_hours('first_gap.gap_start', 'first_gap.gap_end') }} as first_gap_hours,
        coalesce(first_gap.gap_count, 0) as window_gaps,
        first_gap.largest_gap_hours,
        volume.newest_success_rows,
        volume.newest_rows_per_day,
        volume.median_rows_per_day_before,
        volume.volume_history_syncs,
        case
            when
                volume.volume_history_syncs >= {{ var('volume_min_history') }}
                and volume.median_rows_per_day_before >= {{ var('volume_min_rows_per_day') }}
                then volume.newest_rows_per_day / volume.median_rows_per_day_before
        end as volume_ratio,
        first_expiring.credential as expiring_credential,
        first_expiring.credential_label as expiring_credential_label,
        first_expiring.env_var as expiring_credential_env_var,
        first_expiring.renew_action as credential_renew_action,
        first_expiring.expires_on as credential_expires_on,
        {{ dbt.datediff('cast(built.built_at as date)', 'first_expiring.expires_on', 'day') }}
            as days_until_credential_expiry,
        unknown_expiry.credentials_expiry_unknown,
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
    left join first_gap
        on
            first_gap.source = latest.source
            and first_gap.store_id = latest.store_id
            and first_gap.entity = latest.entity
    left join volume
        on
            volume.source = latest.source
            and volume.store_id = latest.store_id
            and volume.entity = latest.entity
    left join first_expiring
        on
            first_expiring.source = latest.source
            and first_expiring.store_id = latest.store_id
            and first_expiring.expiry_order = 1
    left join unknown_expiry
        on
            unknown_expiry.source = latest.source
            and unknown_expiry.store_id = latest.store_id
    left join {{ ref('sync_staleness_tolerance') }} as tolerance on tolerance.source = latest.source
)

select
    measured.*,
    case
        when
            measured.last_success_at is null
            or measured.hours_since_success > thresholds.stale_error * measured.tolerance_hours
            then 'error'
        when measured.hours_since_success > thresholds.stale_warn * measured.tolerance_hours then 'warn'
        else 'ok'
    end as freshness_level,
    case
        when measured.consecutive_failures >= thresholds.failures_error then 'error'
        when measured.consecutive_failures >= thresholds.failures_warn then 'warn'
        else 'ok'
    end as failures_level,
    case
        when measured.days_until_credential_expiry < thresholds.credential_error then 'error'
        when measured.days_until_credential_expiry < thresholds.credential_warn then 'warn'
        when measured.credentials_expiry_unknown is not null then 'unknown'
        else 'ok'
    end as credential_level,
    case
        when measured.largest_gap_hours >= thresholds.gap_error then 'error'
        when measured.largest_gap_hours > thresholds.gap_warn then 'warn'
        else 'ok'
    end as gap_level,
    case
        when measured.volume_ratio < thresholds.volume_error then 'error'
        when measured.volume_ratio < thresholds.volume_warn then 'warn'
        else 'ok'
    end as volume_level
from measured
cross join thresholds
