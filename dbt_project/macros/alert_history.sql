{#- The alert delivery history is written by the alert job, so it does not exist before the first alert;
    read_json fails on a missing file, so the staging model checks first (at run time, not at parse). -#}
{% macro alert_history_present() -%}
    {%- if not execute -%}{{ return(true) }}{%- endif -%}
    {{ return(adapter.dispatch('alert_history_present', 'kpi_platform')()) }}
{%- endmacro %}

{% macro duckdb__alert_history_present() -%}
    {%- set path = env_var('KPI_ALERT_OUTBOX', '../warehouse/alerts_outbox.jsonl') -%}
    {%- set found = run_query("select count(*) from glob('" ~ path | replace("'", "''") ~ "')") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}

{#- Elsewhere the raw loader (ingestion/warehouse_load.py) copies the file into a table when there is one. -#}
{% macro default__alert_history_present() -%}
    {%- set history = source('alerts', 'delivery_history') -%}
    {%- set found = adapter.get_relation(database=history.database, schema=history.schema, identifier=history.identifier) -%}
    {{ return(found is not none) }}
{%- endmacro %}

{#- The source's columns (models/staging/alerts/_alerts__sources.yml), typed, with no rows. -#}
{% macro alert_history_empty() -%}
    {#- Spark has no time-zone-aware type nor json: instants are UTC timestamps there, documents text -#}
    {%- set instant = 'timestamp' if target.type == 'spark' else 'timestamptz' -%}
    {%- set document = type_text() if target.type == 'spark' else 'json' -%}
    {%- set columns = {
        'notification_id': type_text(), 'kind': type_text(), 'notified_at': instant, 'alert_key': type_text(),
        'source': type_text(), 'severity': type_text(), 'title': type_text(), 'body': type_text(), 'subject': type_text(),
        'details': document, 'owner': type_text(), 'rule_id': type_text(), 'condition_key': type_text(),
        'channel': type_text(), 'channel_type': type_text(), 'status': type_text(), 'attempt': 'integer',
        'http_status': 'integer', 'error_class': type_text(), 'error': type_text(), 'attempted_at': instant
    } -%}
    select
    {%- for name, type in columns.items() %}
        cast(null as {{ type }}) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
    where false
{%- endmacro %}
