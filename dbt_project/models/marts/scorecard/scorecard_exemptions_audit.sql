{#- One row per exemption in seeds/scorecard/scorecard_exemptions.csv: who approved it, when and why,
    and what it took out of the subject's score (the attainment and the weight share it would have had).
    An exemption that matches no scorecard row (a typo, a period not started) shows is_applied false. -#}
with

exemptions as (
    select * from {{ ref('scorecard_exemptions') }}
),

scorecard as (
    select * from {{ ref('kpi_scorecard') }}
),

shares as (
    {#- the weight share the waived KPI would have had next to the subject's scored KPIs -#}
    select
        waived.subject_id,
        waived.period_type,
        waived.period_start,
        waived.kpi_name,
        waived.weight / (waived.weight + coalesce(sum(others.weight), 0)) as weight_share_waived
    from scorecard as waived
    left join scorecard as others
        on
            others.subject_id = waived.subject_id
            and others.period_type = waived.period_type
            and others.period_start = waived.period_start
            and others.is_scored
    where waived.is_exempt and waived.attainment is not null
    group by waived.subject_id, waived.period_type, waived.period_start, waived.kpi_name, waived.weight
)

select
    exemptions.subject_id,
    exemptions.kpi_name,
    exemptions.period_type,
    exemptions.period_start,
    exemptions.reason,
    exemptions.approved_by,
    exemptions.approved_on,
    scorecard.subject_id is not null as is_applied,
    scorecard.actual,
    scorecard.target,
    scorecard.attainment as attainment_waived,
    scorecard.weight as weight_waived,
    shares.weight_share_waived,
    scorecard.as_of_date
from exemptions
left join scorecard
    on
        scorecard.subject_id = exemptions.subject_id
        and scorecard.kpi_name = exemptions.kpi_name
        and scorecard.period_type = exemptions.period_type
        and scorecard.period_start = exemptions.period_start
left join shares
    on
        shares.subject_id = exemptions.subject_id
        and shares.kpi_name = exemptions.kpi_name
        and shares.period_type = exemptions.period_type
        and shares.period_start = exemptions.period_start
