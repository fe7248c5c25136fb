{#- One row per scored subject: the people, teams and agencies of the subjects file, and every store
    and region of the stores file (a store or region is scored on its own without being listed). -#}
with

listed as (
    select
        subject_id,
        subject_type,
        name,
        role,
        team_id,
        agency_id,
        live_host_name,
        cast(null as {{ dbt.type_string() }}) as store_id,
        cast(null as {{ dbt.type_string() }}) as region
    from {{ ref('scorecard_subjects') }}
),

stores as (
    select
        store_id as subject_id,
        'store' as subject_type,
        store_name as name,
        'store' as role,
        cast(null as {{ dbt.type_string() }}) as team_id,
        cast(null as {{ dbt.type_string() }}) as agency_id,
        cast(null as {{ dbt.type_string() }}) as live_host_name,
        store_id,
        region
    from {{ ref('dim_stores') }}
),

regions as (
    select distinct
        {{ dbt.concat(["'region-'", 'lower(region)']) }} as subject_id,
        'region' as subject_type,
        region as name,
        'region' as role,
        cast(null as {{ dbt.type_string() }}) as team_id,
        cast(null as {{ dbt.type_string() }}) as agency_id,
        cast(null as {{ dbt.type_string() }}) as live_host_name,
        cast(null as {{ dbt.type_string() }}) as store_id,
        region
    from {{ ref('dim_stores') }}
    where region is not null
)

select * from listed
union all
select * from stores
union all
select * from regions
