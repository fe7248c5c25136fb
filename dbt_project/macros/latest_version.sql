{#- The raw lake keeps every version of a record; staging keeps the latest one. Ties on the
    platform's updated_at are broken by load time, so a re-sync of the same version changes nothing. -#}
{% macro latest_version(relation, key='_record_id') -%}
    {{ first_per_partition(relation, raw_lake_columns(), '_store_id, ' ~ key,
        '_record_updated_at desc, _loaded_at desc, _sync_id desc') }}
{%- endmacro %}

{#- The columns of every raw lake table (ingestion/lake.py RAW_SCHEMA). -#}
{% macro raw_lake_columns() -%}
    {{ return(['_platform', '_store_id', '_entity', '_record_id', '_record_updated_at', '_sync_id', '_loaded_at',
        '_payload']) }}
{%- endmacro %}

{#- The records of the newest load of a config file landed whole on every run (alert rules): what
    the file holds now, so that an entry deleted from the file disappears. -#}
{% macro newest_config_load(relation) -%}
    select *
    from {{ relation }}
    where _loaded_at = (select max(_loaded_at) from {{ relation }})
{%- endmacro %}
