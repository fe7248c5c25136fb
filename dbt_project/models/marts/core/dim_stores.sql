select
    store_id,
    platform,
    store_name,
    marketplace,
    region,
    country_code,
    timezone,
    currency_code,
    owner,
    config_loaded_at
from {{ ref('stg_config__stores') }}
