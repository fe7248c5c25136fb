{#- One row per subject x store (x SKU set) x date range it is credited with. Sources: the
    assignments file (`file`); a team's or agency's members' rows when the file gives the team or
    agency none of its own (`member`); each store owning itself (`store`) and each region its stores
    (`region`), from the first day of data. valid_to is exclusive; null while open. -#}
with

subjects as (
    select * from {{ ref('dim_subjects') }}
),

listed as (
    select
        assignments.subject_id,
        coalesce(assignments.role, subjects.role) as role,
        assignments.store_id,
        assignments.sku_set,
        assignments.valid_from,
        assignments.valid_to,
        'file' as assignment_source
    from {{ ref('scorecard_assignments') }} as assignments
    inner join subjects on subjects.subject_id = assignments.subject_id
),

groups_with_own_rows as (
    select distinct subject_id from listed
),

member_rows as (
    {%- for group_column in ['team_id', 'agency_id'] %}
        select distinct
            groups.subject_id,
            groups.role,
            listed.store_id,
            listed.sku_set,
            listed.valid_from,
            listed.valid_to,
            'member' as assignment_source
        from listed
        inner join subjects as members on members.subject_id = listed.subject_id
        inner join subjects as groups on groups.subject_id = members.{{ group_column }}
        left join groups_with_own_rows as own on own.subject_id = groups.subject_id
        where own.subject_id is null
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

store_rows as (
    select
        subjects.subject_id,
        subjects.role,
        stores.store_id,
        cast(null as {{ dbt.type_string() }}) as sku_set,
        cast('2000-01-01' as date) as valid_from,
        cast(null as date) as valid_to,
        subjects.subject_type as assignment_source
    from subjects
    inner join {{ ref('dim_stores') }} as stores
        on
            (subjects.subject_type = 'store' and stores.store_id = subjects.store_id)
            or (subjects.subject_type = 'region' and stores.region = subjects.region)
)

select * from listed
union all
select * from member_rows
union all
select * from store_rows
