{#- One row per platform x local day, in the reporting currency: see macros/kpi_marts.sql. -#}
{{ kpi_daily_rollup('platform') }}
