{#- One row per store: the span (UTC) over which its orders are known complete, i.e. the newest
    unbroken run of successful orders sync windows. A failed day in between breaks the run, so the
    days before the gap are not claimed complete by a later success. -#}
with

windows as (
    select
        store_id,
        window_start,
        window_end
    from {{ ref('stg_lake__sync_log') }}
    where status = 'success' and entity = 'orders'
),

ordered as (
    select
        *,
        max(window_end) over (
            partition by store_id order by window_start, window_end
            rows between unbounded preceding and 1 preceding
        ) as covered_before
    from windows
),

islands as (
    select
        *,
        sum(case when covered_before is null or window_start > covered_before then 1 else 0 end) over (
            partition by store_id order by window_start, window_end rows between unbounded preceding and current row
        ) as island
    from ordered
),

spans as (
    select
        store_id,
        island,
        min(window_start) as covered_from,
        max(window_end) as covered_through
    from islands
    group by store_id, island
),

newest_span as (
    {{ first_per_partition(
        'spans', ['store_id', 'covered_from', 'covered_through'], 'store_id', 'covered_through desc'
    ) }}
)

select
    store_id,
    covered_from as orders_complete_from,
    covered_through as orders_complete_through
from newest_span
