with

source as (
    {{ latest_version(source('raw_ecb', 'rates')) }}
),

renamed as (
    select
        cast({{ json_text('_payload', 'rate_date') }} as date) as rate_date,
        {{ json_text('_payload', 'base_currency') }} as base_currency_code,
        {{ json_text('_payload', 'currency') }} as currency_code,
        cast({{ json_text('_payload', 'rate') }} as decimal(18, 6)) as units_per_eur
    from source
)

select * from renamed
