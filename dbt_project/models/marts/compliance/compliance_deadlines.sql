{#- One row per open deadline of the compliance register: a filing not yet filed (overdue or to
    come) or a registration with a renewal date not yet passed by more than the alert window. The
    alert candidates are the rows with is_alert_candidate (due within var compliance_alert_days, or
    overdue). -#}
select
    obligation_id,
    obligation_type,
    record_kind,
    country,
    store_id,
    category,
    due_date,
    filed_on,
    status,
    days_until_due,
    owner_subject_id,
    days_until_due <= {{ var('compliance_alert_days') }} as is_alert_candidate,
    as_of_date
from {{ ref('compliance_register') }}
where
    due_date is not null
    and filed_on is null
    and (record_kind = 'filing' or days_until_due >= -{{ var('compliance_alert_days') }})
