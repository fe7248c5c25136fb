{#- One row per subject x period x KPI with a target: the target and its parameters after the
    overrides (DECISIONS #57). A row of scorecard_targets covers the periods starting within
    [valid_from, valid_to) - and, with a season, only those starting in the season's months; among the
    rows covering a period, a seasonal row beats a plain one and then the latest valid_from wins
    (staged targets). Each field left empty falls back to the role template (scorecard_role_templates,
    by the subject's role), then to the project defaults (vars scorecard_default_*). A template's own
    target applies to every subject of the role without a target row. -#}
with

subjects as (
    select subject_id, subject_type, role from {{ ref('dim_subjects') }}
),

periods as (
    select distinct period_type, period_start, period_end from {{ ref('int_scorecard__periods') }}
),

templates as (
    select * from {{ ref('scorecard_role_templates') }}
),

file_rows as (
    select
        targets.*,
        periods.period_start,
        periods.period_end,
        row_number() over (
            partition by targets.subject_id, targets.kpi_name, targets.period_type, periods.period_start
            order by case when targets.season is null then 1 else 0 end, targets.valid_from desc
        ) as preference
    from {{ ref('scorecard_targets') }} as targets
    inner join periods
        on
            periods.period_type = targets.period_type
            and periods.period_start >= targets.valid_from
            and (targets.valid_to is null or periods.period_start < targets.valid_to)
    left join {{ ref('scorecard_seasons') }} as seasons
        on
            seasons.season = targets.season
            and seasons.month = extract(month from periods.period_start)
    where targets.season is null or seasons.season is not null
),

chosen as (
    select * from file_rows
    where preference = 1
),

template_rows as (
    select
        subjects.subject_id,
        templates.kpi_name,
        templates.period_type,
        periods.period_start,
        periods.period_end
    from subjects
    inner join templates on templates.role = subjects.role
    inner join periods on periods.period_type = templates.period_type
),

keys as (
    select subject_id, kpi_name, period_type, period_start, period_end from chosen
    union
    select subject_id, kpi_name, period_type, period_start, period_end from template_rows
)

select
    keys.subject_id,
    subjects.subject_type,
    subjects.role,
    keys.period_type,
    keys.period_start,
    keys.period_end,
    keys.kpi_name,
    coalesce(chosen.target, templates.target) as target,
    coalesce(chosen.weight, templates.weight, 1.0) as weight,
    coalesce(chosen.floor, templates.floor, {{ var('scorecard_default_floor') }}) as attainment_floor,
    coalesce(chosen.cap, templates.cap, {{ var('scorecard_default_cap') }}) as attainment_cap,
    coalesce(chosen.warning_line, templates.warning_line, {{ var('scorecard_default_warning_line') }}) as warning_line,
    coalesce(chosen.critical_line, templates.critical_line, {{ var('scorecard_default_critical_line') }})
        as critical_line,
    coalesce(chosen.pacing_profile, templates.pacing_profile, '') as pacing_profile,
    chosen.subject_id is not null as has_own_target,
    chosen.season,
    chosen.valid_from as target_valid_from
from keys
inner join subjects on subjects.subject_id = keys.subject_id
left join chosen
    on
        chosen.subject_id = keys.subject_id
        and chosen.kpi_name = keys.kpi_name
        and chosen.period_type = keys.period_type
        and chosen.period_start = keys.period_start
left join templates
    on
        templates.role = subjects.role
        and templates.kpi_name = keys.kpi_name
        and templates.period_type = keys.period_type
where coalesce(chosen.target, templates.target) is not null
