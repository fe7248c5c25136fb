{#- The rules of the newest landed rules file (a rule deleted from the file is gone). -#}
with

newest_load as (
    {{ newest_config_load(source('raw_config', 'alert_rules')) }}
)

select
    {{ json_text('_payload', 'rule_id') }} as rule_id,
    {{ json_text('_payload', 'description') }} as rule_description,
    {{ json_text('_payload', 'metric') }} as metric,
    {{ json_text('_payload', 'level') }} as level,
    cast({{ json_text('_payload', 'window_days') }} as integer) as window_days,
    cast({{ json_text('_payload', 'baseline_days') }} as integer) as baseline_days,
    {{ json_text('_payload', 'comparison') }} as comparison,
    cast({{ json_text('_payload', 'warning') }} as {{ type_double() }}) as warning_threshold,
    cast({{ json_text('_payload', 'critical') }} as {{ type_double() }}) as critical_threshold,
    {{ json_text('_payload', 'owner_role') }} as owner_role,
    _loaded_at as rules_loaded_at
from newest_load
where
    {{ json_text('_payload', 'record_type') }} = 'rule'
    and cast({{ json_text('_payload', 'enabled') }} as boolean)
