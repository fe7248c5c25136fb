"""The KPI catalog (``dbt_project/kpi_catalog.yml``) and the files generated from it.

A KPI is defined once, in the catalog. Everything else that states a definition is written from it:
the ``kpi_catalog`` seed behind ``marts.kpi_definitions``, the dbt macro the KPI marts build their
columns from, the dbt doc blocks and model YAML of the KPI marts, the MetricFlow semantic model and
metrics, and ``docs/METRICS.md``. ``python -m kpi_catalog --check`` (run by the tests) fails when a
generated file is out of date, so a definition cannot drift between the places it appears.
"""
