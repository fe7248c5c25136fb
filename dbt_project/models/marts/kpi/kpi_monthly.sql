{#- One row per store x month: see the model description (generated from kpi_catalog.yml) and macros/kpi_marts.sql. -#}
{{ kpi_store_period('month') }}
