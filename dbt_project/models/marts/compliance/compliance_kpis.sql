{#- One row per country with requirements, and one for all countries (country 'ALL'), as of the
    as-of day: coverage (store x requirement pairs covered by an active registration or a scheduled
    filing in the register, over all pairs) and on-time filing rate (filings due before the as-of day that
    were filed by their due date, over all filings due before it). DECISIONS #62. -#}
with

register as (
    select * from {{ ref('compliance_register') }}
),

pairs as (
    select
        stores.store_id,
        requirements.country,
        requirements.obligation_type,
        requirements.category
    from {{ ref('compliance_requirements') }} as requirements
    inner join {{ ref('dim_stores') }} as stores on stores.country_code = requirements.country
),

covered as (
    select
        pairs.store_id,
        pairs.country,
        pairs.obligation_type,
        pairs.category,
        max(case
            when register.record_kind = 'registration' and register.status in ('active', 'expiring') then 1
            when register.record_kind = 'filing' and register.due_date >= register.as_of_date then 1
            else 0
        end) as is_covered
    from pairs
    left join register
        on
            register.country = pairs.country
            and register.obligation_type = pairs.obligation_type
            and register.category = pairs.category
            and (register.store_id is null or register.store_id = pairs.store_id)
    group by pairs.store_id, pairs.country, pairs.obligation_type, pairs.category
),

filings as (
    select
        country,
        case when filed_on is not null and filed_on <= due_date then 1 else 0 end as is_on_time,
        case when status = 'overdue' then 1 else 0 end as is_overdue
    from register
    where record_kind = 'filing' and due_date < as_of_date
),

upcoming as (
    select
        country,
        case when status in ('due_soon', 'expiring') then 1 else 0 end as is_upcoming
    from register
),

as_of as (
    select {{ scorecard_as_of() }} as as_of_date
),

required as (
    select country, count(*) as required_pairs, sum(is_covered) as covered_pairs
    from covered
    group by country
),

filed as (
    select
        country,
        count(*) as filings_due,
        sum(is_on_time) as filings_on_time,
        sum(is_overdue) as filings_overdue
    from filings
    group by country
),

soon as (
    select country, sum(is_upcoming) as deadlines_soon
    from upcoming
    group by country
),

by_country as (
    select
        required.country,
        required.required_pairs,
        required.covered_pairs,
        filed.filings_due,
        filed.filings_on_time,
        filed.filings_overdue,
        soon.deadlines_soon
    from required
    left join filed on filed.country = required.country
    left join soon on soon.country = required.country
),

with_total as (
    select * from by_country
    union all
    select
        'ALL' as country,
        sum(required_pairs) as required_pairs,
        sum(covered_pairs) as covered_pairs,
        sum(filings_due) as filings_due,
        sum(filings_on_time) as filings_on_time,
        sum(filings_overdue) as filings_overdue,
        sum(deadlines_soon) as deadlines_soon
    from by_country
)

select
    with_total.country,
    coalesce(with_total.required_pairs, 0) as required_pairs,
    coalesce(with_total.covered_pairs, 0) as covered_pairs,
    {{ kpi_ratio('with_total.covered_pairs', 'with_total.required_pairs') }} as coverage_rate,
    coalesce(with_total.filings_due, 0) as filings_due,
    coalesce(with_total.filings_on_time, 0) as filings_on_time,
    {{ kpi_ratio('with_total.filings_on_time', 'with_total.filings_due') }} as on_time_filing_rate,
    coalesce(with_total.filings_overdue, 0) as filings_overdue,
    coalesce(with_total.deadlines_soon, 0) as deadlines_within_alert_window,
    as_of.as_of_date
from with_total
cross join as_of
