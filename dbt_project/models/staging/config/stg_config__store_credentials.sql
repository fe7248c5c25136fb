{#- One row per store x source x credential the stores file names an env var for: the env var's name
    (never its value) and, where given, the date the credential was issued (credentials_issued_at). -#}
with

source as (
    {{ latest_version(source('raw_config', 'stores')) }}
),

credentials as (
    {%- set blocks = [("", json_text('_payload', 'platform')), ("ads_", "'amazon_ads'")] %}
    {%- set kinds = ['access_token', 'client_id', 'client_secret', 'refresh_token', 'service_secret', 'license_key'] %}
    {%- for prefix, source_name in blocks %}
        {%- for kind in kinds %}
            select
                _record_id as store_id,
                {{ source_name }} as source,
                '{{ kind }}' as credential,
                {{ json_text('_payload', prefix ~ 'credential_env_vars.' ~ kind) }} as env_var,
                cast({{ json_text('_payload', prefix ~ 'credentials_issued_at.' ~ kind) }} as date) as issued_on
            from source
            {%- if not loop.last or prefix == "" %}
                union all
            {%- endif %}
        {%- endfor %}
    {%- endfor %}
)

select * from credentials
where env_var is not null
