{#- One row per alert raised: a rule of the alert rules file (alert_rules.yaml) breached by a subject
    (store, SKU, platform, region or compliance obligation) on a complete local day, over the rule's
    window. Evaluated for the newest `alert_history_days` days of each subject; the row on the subject's
    newest complete day is the current state (`is_current`), which the alert sensor sends and resolves. -#}
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
    select
        store_id,
        owner
    from {{ ref('dim_stores') }}
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
    left join {{ ref('scorecard_sku_sets') }} as sku_sets
        on assignments.sku_set = sku_sets.sku_set
    where
        assignments.assignment_source = 'file'
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

-- (rule, subject, day) to evaluate: complete days in the horizon, with the window's bounds
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
        subjects.first_date,
        subjects.newest_date,
        coalesce(observations.owner_hint, stores.owner) as store_owner,
        {{ add_days('-rules.window_days', 'observations.obs_date') }} as window_floor,
        {{ add_days('-(rules.window_days + coalesce(rules.baseline_days, 0))', 'observations.obs_date') }}
            as baseline_floor
    from rules
    inner join observations
        on
            rules.level = observations.level
            and rules.metric = observations.metric
    inner join subjects
        on
            observations.level = subjects.level
            and observations.subject_id = subjects.subject_id
            and observations.metric = subjects.metric
    left join stores
        on observations.store_id = stores.store_id
    where
        observations.is_complete_day
        and observations.obs_date > {{ add_days(-var('alert_history_days'), 'subjects.newest_date') }}
),

-- only days with history for the whole window and baseline
evaluable as (
    select *
    from candidates
    where baseline_floor >= {{ add_days(-1, 'first_date') }}
),

-- the owner: the subject assigned to the store (a SKU alert: a SKU set holding the SKU first) for the
-- rule's role on the day; without one, the obligation's owner or the stores file's owner
assigned_owners as (
    select
        evaluable.rule_id,
        evaluable.subject_id,
        evaluable.kpi_date,
        assigned.subject_id as owner,
        row_number() over (
            partition by evaluable.rule_id, evaluable.subject_id, evaluable.kpi_date
            order by
                case when assigned.sku is null then 1 else 0 end,
                assigned.valid_from desc,
                assigned.subject_id asc
        ) as preference
    from evaluable
    inner join assigned
        on
            evaluable.store_id = assigned.store_id
            and evaluable.owner_role = assigned.role
            and evaluable.kpi_date >= assigned.valid_from
            and (assigned.valid_to is null or evaluable.kpi_date < assigned.valid_to)
            and (assigned.sku is null or evaluable.sku = assigned.sku)
),

owned as (
    select
        evaluable.*,
        coalesce(assigned_owners.owner, evaluable.store_owner) as owner
    from evaluable
    left join assigned_owners
        on
            evaluable.rule_id = assigned_owners.rule_id
            and evaluable.subject_id = assigned_owners.subject_id
            and evaluable.kpi_date = assigned_owners.kpi_date
            and assigned_owners.preference = 1
),

-- a subject is in scope when it matches every dimension the rule lists (any of its values)
scope_matches as (
    select
        owned.rule_id,
        owned.subject_id,
        owned.kpi_date,
        count(distinct scopes.dimension) as matched_dimensions
    from owned
    inner join scopes
        on
            owned.rule_id = scopes.rule_id
            and scopes.scope_value = case scopes.dimension
                when 'store' then owned.store_id
                when 'platform' then owned.platform
                when 'region' then owned.region
                when 'sku' then owned.sku
                when 'owner' then owned.owner
            end
    group by owned.rule_id, owned.subject_id, owned.kpi_date
),

scope_dimensions as (
    select
        rule_id,
        count(distinct dimension) as dimensions
    from scopes
    group by rule_id
),

in_scope as (
    select owned.*
    from owned
    left join scope_dimensions
        on owned.rule_id = scope_dimensions.rule_id
    left join scope_matches
        on
            owned.rule_id = scope_matches.rule_id
            and owned.subject_id = scope_matches.subject_id
            and owned.kpi_date = scope_matches.kpi_date
    where
        scope_dimensions.dimensions is null
        or scope_matches.matched_dimensions = scope_dimensions.dimensions
),

-- the window (the newest window_days days) and the baseline (the baseline_days days before it)
windowed as (
    select
        in_scope.rule_id,
        in_scope.subject_id,
        in_scope.kpi_date,
        sum(
            case when observations.obs_date > in_scope.window_floor then observations.numerator end
        ) as window_numerator,
        sum(
            case when observations.obs_date > in_scope.window_floor then observations.denominator end
        ) as window_denominator,
        sum(
            case when observations.obs_date <= in_scope.window_floor then observations.numerator end
        ) as base_numerator,
        sum(
            case when observations.obs_date <= in_scope.window_floor then observations.denominator end
        ) as base_denominator
    from in_scope
    inner join observations
        on
            in_scope.level = observations.level
            and in_scope.subject_id = observations.subject_id
            and in_scope.metric = observations.metric
            and in_scope.kpi_date >= observations.obs_date
            and in_scope.baseline_floor < observations.obs_date
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
    inner join guards
        on in_scope.rule_id = guards.rule_id
    left join observations
        on
            in_scope.level = observations.level
            and in_scope.subject_id = observations.subject_id
            and guards.guard_metric = observations.metric
            and in_scope.kpi_date >= observations.obs_date
            and in_scope.window_floor < observations.obs_date
    group by in_scope.rule_id, in_scope.subject_id, in_scope.kpi_date, guards.guard_metric, guards.guard_min
),

guarded as (
    select
        rule_id,
        subject_id,
        kpi_date
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
                then {{ kpi_ratio('windowed.base_numerator * in_scope.metric_scale', 'windowed.base_denominator') }}
            else windowed.base_numerator * in_scope.window_days / in_scope.baseline_days
        end as baseline_value
    from in_scope
    inner join windowed
        on
            in_scope.rule_id = windowed.rule_id
            and in_scope.subject_id = windowed.subject_id
            and in_scope.kpi_date = windowed.kpi_date
    left join guarded
        on
            in_scope.rule_id = guarded.rule_id
            and in_scope.subject_id = guarded.subject_id
            and in_scope.kpi_date = guarded.kpi_date
    where guarded.rule_id is null
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
    kpi_value,
    baseline_days,
    baseline_value,
    compared_value,
    comparison,
    severity,
    rule_description,
    owner_role,
    owner,
    md5(rule_id || '|' || subject_id || '|' || cast(kpi_date as {{ type_text() }})) as alert_id,
    'kpi:' || rule_id || ':' || subject_id as condition_key,
    {{ add_days('1 - window_days', 'kpi_date') }} as window_start,
    case severity when 'critical' then critical_threshold else warning_threshold end as threshold,
    kpi_date = newest_date as is_current
from breaches
where severity is not null
