{#- Spark (the scale path, docs/SCALING.md): the raw lake's folders as external tables, declared before
    every run (on-run-start), so that `source('raw_amazon', 'orders')` reads the Parquet files in place. -#}
{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources', 'kpi_platform')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set lake = env_var('KPI_LAKE_DIR', '../lake') -%}
    {%- set raw_columns = '_platform string, _store_id string, _entity string, _record_id string,'
        ~ ' _record_updated_at timestamp, _sync_id string, _loaded_at timestamp, _payload string' -%}
    {%- set statements = [] -%}
    {%- for source in graph.sources.values() if source.source_name.startswith('raw_') -%}
        {%- set folder = lake ~ '/raw/' ~ source.source_name[4:] ~ '/' ~ source.name -%}
        {%- do statements.append(spark_external_table(source.schema, source.identifier, raw_columns, 'parquet', folder)) -%}
    {%- endfor -%}
    {%- do statements.append(spark_external_table('lake', 'sync_log',
        'sync_id string, platform string, store_id string, entity string, window_start timestamp,'
        ~ ' window_end timestamp, started_at timestamp, finished_at timestamp, status string, rows bigint,'
        ~ ' pages bigint, requests bigint, retries bigint, throttled bigint, error_class string,'
        ~ ' error_message string, http_status int, request_id string, duration_s double',
        'json', lake ~ '/_sync_log')) -%}
    {%- for statement in statements -%}
        {%- do run_query(statement) -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}

{#- Statements, run one by one: Spark SQL takes one statement per call. -#}
{% macro spark_external_table(schema, table, columns, format, folder) -%}
    {%- do run_query('create database if not exists ' ~ schema) -%}
    {%- do run_query('drop table if exists ' ~ schema ~ '.' ~ table) -%}
    {{ return('create table ' ~ schema ~ '.' ~ table ~ ' (' ~ columns ~ ') using ' ~ format
        ~ " options (path '" ~ folder ~ "', recursiveFileLookup 'true')") }}
{%- endmacro %}

{#- The facts are incremental (delete+insert) on DuckDB and PostgreSQL; Spark's session method writes
    Parquet tables, which support neither delete+insert nor merge, so there they are rebuilt whole. -#}
{% macro fact_materialization() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}
