with

source as (
    {{ latest_version(source('raw_config', 'stores')) }}
),

renamed as (
    select
        _record_id as store_id,
        {{ json_text('_payload', 'platform') }} as platform,
        {{ json_text('_payload', 'name') }} as store_name,
        {{ json_text('_payload', 'marketplace') }} as marketplace,
        {{ json_text('_payload', 'region') }} as region,
        {{ json_text('_payload', 'country') }} as country_code,
        {{ json_text('_payload', 'timezone') }} as timezone,
        {{ json_text('_payload', 'currency') }} as currency_code,
        nullif({{ json_text('_payload', 'owner') }}, '') as owner,
        _loaded_at as config_loaded_at
    from source
)

select * from renamed
