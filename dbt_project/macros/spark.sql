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

{#- dbt-spark's seed loader, fixed for the session method, which pastes each value into the SQL between
    single quotes as it is: a text with an apostrophe ("the seller's") broke the statement, and an empty
    cell became the text 'None'. Here text is escaped (Spark SQL escapes with a backslash) and an empty
    cell is a typed null. Otherwise as dbt-spark 1.x's own macro. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set batch_size = get_batch_size() -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(batch_size) -%}
        {%- set bindings = [] -%}
        {%- set tuples = [] -%}
        {%- for row in chunk -%}
            {%- set cells = [] -%}
            {%- for value in row -%}
                {%- if value is none -%}
                    {%- do cells.append('cast(null as ' ~ types[loop.index0] ~ ')') -%}
                {%- else -%}
                    {%- do cells.append('cast(' ~ get_binding_char() ~ ' as ' ~ types[loop.index0] ~ ')') -%}
                    {%- do bindings.append(value.replace('\\', '\\\\').replace("'", "\\'") if value is string else value) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- do tuples.append('(' ~ cells | join(', ') ~ ')') -%}
        {%- endfor -%}
        {%- set sql = 'insert into ' ~ this.render() ~ ' values\n' ~ tuples | join(',\n') -%}
        {%- do adapter.add_query(sql, bindings=bindings, abridge_sql_log=True) -%}
        {%- if loop.index0 == 0 -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}
