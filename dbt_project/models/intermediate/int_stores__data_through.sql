{#- One row per store: up to when (UTC) its orders are known complete, i.e. the end of the newest
    successful orders sync window. Local days ending after it are partial. -#}
select
    store_id,
    max(window_end) as orders_complete_through
from {{ ref('stg_lake__sync_log') }}
where status = 'success' and entity = 'orders'
group by store_id
