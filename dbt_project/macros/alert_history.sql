{#- The alert delivery history is written by the alert job, so it does not exist before the first alert;
    read_json fails on a missing file, so the staging model checks first (at run time, not at parse). -#}
{% macro alert_history_present() -%}
    {%- if not execute -%}{{ return(true) }}{%- endif -%}
    {%- set path = env_var('KPI_ALERT_OUTBOX', '../warehouse/alerts_outbox.jsonl') -%}
    {%- set found = run_query("select count(*) from glob('" ~ path | replace("'", "''") ~ "')") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}

{#- The source's columns (models/staging/alerts/_alerts__sources.yml), typed, with no rows. -#}
{% macro alert_history_empty() -%}
    {%- set columns = {
        'notification_id': 'varchar', 'kind': 'varchar', 'notified_at': 'timestamptz', 'alert_key': 'varchar',
        'source': 'varchar', 'severity': 'varchar', 'title': 'varchar', 'body': 'varchar', 'subject': 'varchar',
        'details': 'json', 'owner': 'varchar', 'rule_id': 'varchar', 'condition_key': 'varchar',
        'channel': 'varchar', 'channel_type': 'varchar', 'status': 'varchar', 'attempt': 'integer',
        'http_status': 'integer', 'error_class': 'varchar', 'error': 'varchar', 'attempted_at': 'timestamptz'
    } -%}
    select
    {%- for name, type in columns.items() %}
        cast(null as {{ type }}) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
    where false
{%- endmacro %}
