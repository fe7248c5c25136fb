{#- One row per registration or filing of seeds/compliance/compliance_register.csv, with its status
    as of the scorecard's as-of day (DECISIONS #62). A registration is due for renewal on valid_to; a
    filing on its due date. -#}
with

register as (
    select * from {{ ref('compliance_obligations') }}
),

as_of as (
    select {{ scorecard_as_of() }} as as_of_date
),

dated as (
    select
        register.*,
        case when register.due_date is null then 'registration' else 'filing' end as record_kind,
        coalesce(register.due_date, register.valid_to) as deadline,
        as_of.as_of_date
    from register
    cross join as_of
),

with_days as (
    select
        *,
        {{ dbt.datediff('as_of_date', 'deadline', 'day') }} as days_to_deadline  -- noqa: LT05
    from dated
)

select
    obligation_id,
    obligation_type,
    record_kind,
    country,
    store_id,
    category,
    reference,
    valid_from,
    valid_to,
    deadline as due_date,
    filed_on,
    owner_subject_id,
    case
        when record_kind = 'filing' and filed_on is not null and filed_on <= due_date then 'filed_on_time'
        when record_kind = 'filing' and filed_on is not null then 'filed_late'
        when record_kind = 'filing' and due_date < as_of_date then 'overdue'
        when record_kind = 'filing' and days_to_deadline <= {{ var('compliance_alert_days') }} then 'due_soon'
        when record_kind = 'filing' then 'upcoming'
        when valid_from > as_of_date then 'pending'
        when valid_to is not null and valid_to <= as_of_date then 'expired'
        when valid_to is not null and days_to_deadline <= {{ var('compliance_alert_days') }} then 'expiring'
        else 'active'
    end as status,
    case
        when deadline is not null and filed_on is null then days_to_deadline
    end as days_until_due,
    notes,
    as_of_date
from with_days
