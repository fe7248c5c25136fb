{#- The minimum-volume guards of the newest rules file: one row per rule x guard metric. -#}
with

newest_load as (
    {{ newest_config_load(source('raw_config', 'alert_rules')) }}
)

select
    {{ json_text('_payload', 'rule_id') }} as rule_id,
    {{ json_text('_payload', 'metric') }} as guard_metric,
    cast({{ json_text('_payload', 'min') }} as {{ type_double() }}) as guard_min
from newest_load
where {{ json_text('_payload', 'record_type') }} = 'guard'
