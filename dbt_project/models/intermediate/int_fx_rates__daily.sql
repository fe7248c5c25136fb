{#- One row per calendar day x currency: the ECB rate carried forward over weekends and TARGET
    holidays, and the factor that turns that currency into the reporting currency. -#}
{%- set reporting = var('reporting_currency') -%}

with

published as (
    select rate_date, currency_code, units_per_eur from {{ ref('stg_ecb__fx_rates') }}
    union all
    select distinct rate_date, 'EUR' as currency_code, 1.0 as units_per_eur from {{ ref('stg_ecb__fx_rates') }}
),

bounds as (
    select
        min(rate_date) as first_day,
        greatest(max(rate_date), current_date + 1) as last_day
    from published
),

days as (
    select
        {{ date_series('first_day', 'last_day') }} as rate_day
    from bounds
),

spine as (
    select days.rate_day, currencies.currency_code
    from days
    cross join (select distinct currency_code from published) as currencies
),

-- Carried forward: each day joins the run of days that starts at a publication (a running count of
-- them), and takes that publication's rate (IGNORE NULLS is not portable).
runs as (
    select
        spine.rate_day,
        spine.currency_code,
        published.units_per_eur,
        published.rate_date,
        count(published.rate_date) over (
            partition by spine.currency_code order by spine.rate_day rows between unbounded preceding and current row
        ) as publication_run
    from spine
    left join published
        on published.rate_date = spine.rate_day and published.currency_code = spine.currency_code
),

filled as (
    select
        rate_day,
        currency_code,
        max(units_per_eur) over (partition by currency_code, publication_run) as units_per_eur,
        max(rate_date) over (partition by currency_code, publication_run) as published_rate_date
    from runs
),

reporting as (
    select rate_day, units_per_eur as reporting_units_per_eur
    from filled
    where currency_code = '{{ reporting }}'
)

select
    filled.rate_day,
    filled.currency_code,
    '{{ reporting }}' as reporting_currency_code,
    filled.units_per_eur,
    filled.published_rate_date,
    cast(reporting.reporting_units_per_eur as {{ type_double() }})
    / cast(filled.units_per_eur as {{ type_double() }}) as rate_to_reporting
from filled
inner join reporting on reporting.rate_day = filled.rate_day
where filled.units_per_eur is not null
