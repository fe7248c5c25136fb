{#- One row per alert raised: a rule of the alert rules file (alert_rules.yaml) breached by a subject
    (store, SKU, platform or region) on a complete local day, over the rule's window. Evaluated for the
    newest `alert_history_days` days of each subject; the row on the subject's newest complete day is the
    current state (`is_current`), which the alert sensor sends and resolves. -#}
with

rules as (
    select * from {{ ref('stg_config__alert_rules') }}
),

scopes as (
    select * from {{ ref('stg_config__alert_rule_scopes') }}
),

guards as (
    select * from {{ ref('stg_config__alert_rule_guards') }}
),

observations as (
    select * from {{ ref('int_kpi_alerts__observations') }}
),

stores as (
    select store_id, owner from {{ ref('dim_stores') }}
),

-- who owns a store (or a SKU set of it) for a role on a day: the assignments file (scorecard subjects)
assigned as (
    select
        assignments.subject_id,
        assignments.role,
        assignments.store_id,
        assignments.valid_from,
        assignments.valid_to,
        sku_sets.sku
    from {{ ref('dim_assignments') }} as assignments
    left join {{ ref('scorecard_sku_sets') }} as sku_sets on sku_sets.sku_set = assignments.sku_set
    where assignments.assignment_source = 'file'
        and (assignments.sku_set is null or sku_sets.sku is not null)
),

subjects as (
    select
        level,
        subject_id,
        metric,
        min(obs_date) as first_date,
        max(case when is_complete_day then obs_date end) as newest_date
    from observations
    group by level, subject_id, metric
),

-- (rule, subject, day) to evaluate: complete days in the horizon with history for the whole window
candidates as (
    select
        rules.*,
        observations.subject_id,
        observations.store_id,
        observations.sku,
        observations.platform,
        observations.region,
        observations.metric_kind,
        observations.metric_scale,
        observations.obs_date as kpi_date,
        subjects.newest_date,
        coalesce(observations.owner_hint, stores.owner) as store_owner
    from rules
    inner join observations
        on observations.level = rules.level and observations.metric = rules.metric
    inner join subjects
        on subjects.level = observations.level
        and subjects.subject_id = observations.subject_id
        and subjects.metric = observations.metric
    left join stores on stores.store_id = observations.store_id
    where observations.is_complete_day
        and observations.obs_date > {{ add_days(-var('alert_history_days'), 'subjects.newest_date') }}
        and subjects.first_date
            <= {{ add_days('1 - rules.window_days - coalesce(rules.baseline_days, 0)', 'observations.obs_date') }}
),

-- the owner: the subject assigned to the store (a SKU alert: a SKU set holding the SKU first) for the
-- rule's role on the day; without one, the obligation's owner or the stores file's owner
assigned_owners as (
    select
        candidates.rule_id,
        candidates.subject_id,
        candidates.kpi_date,
        assigned.subject_id as owner,
        row_number() over (
            partition by candidates.rule_id, candidates.subject_id, candidates.kpi_date
            order by case when assigned.sku is null then 1 else 0 end, assigned.valid_from desc, assigned.subject_id
        ) as preference
    from candidates
    inner join assigned
        on assigned.store_id = candidates.store_id
        and assigned.role = candidates.owner_role
        and assigned.valid_from <= candidates.kpi_date
        and (assigned.valid_to is null or candidates.kpi_date < assigned.valid_to)
        and (assigned.sku is null or assigned.sku = candidates.sku)
),

owned as (
    select
        candidates.*,
        coalesce(assigned_owners.owner, candidates.store_owner) as owner
    from candidates
    left join assigned_owners
        on assigned_owners.rule_id = candidates.rule_id
        and assigned_owners.subject_id = candidates.subject_id
        and assigned_owners.kpi_date = candidates.kpi_date
        and assigned_owners.preference = 1
),

in_scope as (
    select owned.*
    from owned
    where not exists (
        select 1
        from scopes
        where scopes.rule_id = owned.rule_id
            and not exists (
                select 1
                from scopes as allowed
                where allowed.rule_id = scopes.rule_id
                    and allowed.dimension = scopes.dimension
                    and allowed.scope_value = case scopes.dimension
                        when 'store' then owned.store_id
                        when 'platform' then owned.platform
                        when 'region' then owned.region
                        when 'sku' then owned.sku
                        when 'owner' then owned.owner
                    end
            )
    )
),

-- the window (the newest window_days days) and the baseline (the baseline_days days before it)
windowed as (
    select
        in_scope.rule_id,
        in_scope.subject_id,
        in_scope.kpi_date,
        sum(case when observations.obs_date > {{ add_days('-in_scope.window_days', 'in_scope.kpi_date') }}
            then observations.numerator end) as window_numerator,
        sum(case when observations.obs_date > {{ add_days('-in_scope.window_days', 'in_scope.kpi_date') }}
            then observations.denominator end) as window_denominator,
        sum(case when observations.obs_date <= {{ add_days('-in_scope.window_days', 'in_scope.kpi_date') }}
            then observations.numerator end) as baseline_numerator,
        sum(case when observations.obs_date <= {{ add_days('-in_scope.window_days', 'in_scope.kpi_date') }}
            then observations.denominator end) as baseline_denominator
    from in_scope
    inner join observations
        on observations.level = in_scope.level
        and observations.subject_id = in_scope.subject_id
        and observations.metric = in_scope.metric
        and observations.obs_date <= in_scope.kpi_date
        and observations.obs_date
            > {{ add_days('-(in_scope.window_days + coalesce(in_scope.baseline_days, 0))', 'in_scope.kpi_date') }}
    group by in_scope.rule_id, in_scope.subject_id, in_scope.kpi_date
),

guard_sums as (
    select
        in_scope.rule_id,
        in_scope.subject_id,
        in_scope.kpi_date,
        guards.guard_metric,
        guards.guard_min,
        coalesce(sum(observations.numerator), 0) as guard_value
    from in_scope
    inner join guards on guards.rule_id = in_scope.rule_id
    left join observations
        on observations.level = in_scope.level
        and observations.subject_id = in_scope.subject_id
        and observations.metric = guards.guard_metric
        and observations.obs_date <= in_scope.kpi_date
        and observations.obs_date > {{ add_days('-in_scope.window_days', 'in_scope.kpi_date') }}
    group by in_scope.rule_id, in_scope.subject_id, in_scope.kpi_date, guards.guard_metric, guards.guard_min
),

guarded as (
    select rule_id, subject_id, kpi_date
    from guard_sums
    group by rule_id, subject_id, kpi_date
    having sum(case when guard_value < guard_min then 1 else 0 end) > 0
),

valued as (
    select
        in_scope.*,
        case
            when in_scope.metric_kind = 'ratio'
                then {{ kpi_ratio('windowed.window_numerator * in_scope.metric_scale', 'windowed.window_denominator') }}
            else windowed.window_numerator
        end as kpi_value,
        case
            when in_scope.baseline_days is null then null
            when in_scope.metric_kind = 'ratio'
                then {{ kpi_ratio('windowed.baseline_numerator * in_scope.metric_scale', 'windowed.baseline_denominator') }}
            else windowed.baseline_numerator * in_scope.window_days / in_scope.baseline_days
        end as baseline_value
    from in_scope
    inner join windowed
        on windowed.rule_id = in_scope.rule_id
        and windowed.subject_id = in_scope.subject_id
        and windowed.kpi_date = in_scope.kpi_date
    where not exists (
        select 1 from guarded
        where guarded.rule_id = in_scope.rule_id
            and guarded.subject_id = in_scope.subject_id
            and guarded.kpi_date = in_scope.kpi_date
    )
),

compared as (
    select
        *,
        case
            when baseline_days is null then kpi_value
            when baseline_value > 0 then kpi_value / baseline_value
        end as compared_value
    from valued
),

breaches as (
    select
        *,
        case
            when comparison = 'above' and compared_value > critical_threshold then 'critical'
            when comparison = 'below' and compared_value < critical_threshold then 'critical'
            when comparison = 'above' and compared_value > warning_threshold then 'warning'
            when comparison = 'below' and compared_value < warning_threshold then 'warning'
        end as severity
    from compared
    where compared_value is not null
)

select
    md5(rule_id || '|' || subject_id || '|' || cast(kpi_date as varchar)) as alert_id,
    'kpi:' || rule_id || ':' || subject_id as condition_key,
    rule_id,
    metric,
    level as subject_type,
    subject_id,
    store_id,
    sku,
    platform,
    region,
    kpi_date,
    window_days,
    {{ add_days('1 - window_days', 'kpi_date') }} as window_start,
    kpi_value,
    baseline_days,
    baseline_value,
    compared_value,
    case severity when 'critical' then critical_threshold else warning_threshold end as threshold,
    comparison,
    severity,
    rule_description,
    owner_role,
    owner,
    kpi_date = newest_date as is_current
from breaches
where severity is not null
