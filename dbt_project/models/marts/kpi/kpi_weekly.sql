{#- One row per store x week: see the model description (generated from kpi_catalog.yml) and macros/kpi_marts.sql. -#}
{{ kpi_store_period('week') }}
