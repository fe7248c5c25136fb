{#- The scope filters of the newest rules file: one row per rule x dimension x value. -#}
with

newest_load as (
    {{ newest_config_load(source('raw_config', 'alert_rules')) }}
)

select
    {{ json_text('_payload', 'rule_id') }} as rule_id,
    {{ json_text('_payload', 'dimension') }} as dimension,
    {{ json_text('_payload', 'value') }} as scope_value
from newest_load
where {{ json_text('_payload', 'record_type') }} = 'scope'
