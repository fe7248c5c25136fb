{#- One row per KPI of the catalog (kpi_catalog.yml, via the generated seed), so that BI tools can
    show the definition beside the number. -#}
select
    kpi_name,
    label,
    category,
    kind,
    is_helper,
    formula,
    description,
    grain,
    time_basis,
    currency,
    attribution_window,
    exclusions,
    maturity,
    owner_role,
    direction,
    marts
from {{ ref('kpi_catalog') }}
