{#- The raw lake keeps every version of a record; staging keeps the latest one. Ties on the
    platform's updated_at are broken by load time, so a re-sync of the same version changes nothing. -#}
{% macro latest_version(relation, key='_record_id') -%}
    select *
    from {{ relation }}
    qualify row_number() over (
        partition by _store_id, {{ key }}
        order by _record_updated_at desc, _loaded_at desc, _sync_id desc
    ) = 1
{%- endmacro %}

{#- The records of the newest load of a config file landed whole on every run (alert rules): what
    the file holds now, so that an entry deleted from the file disappears. -#}
{% macro newest_config_load(relation) -%}
    select *
    from {{ relation }}
    where _loaded_at = (select max(_loaded_at) from {{ relation }})
{%- endmacro %}
