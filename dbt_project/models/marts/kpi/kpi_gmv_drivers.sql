{#- Why GMV moved: per store and week or month, the change of GMV against the previous period split
    into drivers that add up exactly to the change.
    - Stores whose platform reports sessions on every day of both periods: GMV = sessions x
      conversion x AOV, and
        traffic    = (S1 - S0) x C0 x A0
        conversion = S1 x (C1 - C0) x A0
        aov        = S1 x C1 x (A1 - A0)
      (a sequential split: each driver moves in turn, so the three sum to G1 - G0 with no residual).
    - Other stores: GMV = orders x AOV: orders = (O1 - O0) x A0, aov = O1 x (A1 - A0).
    A period without orders has no AOV; the other period's AOV stands in, so the whole change
    lands on traffic/conversion (or orders). Amounts in the store's currency. -#}
with

periods as (
    {% for period in ['week', 'month'] %}
        select
            '{{ period }}' as period_grain,
            store_id,
            platform,
            region,
            period_start,
            is_complete_period,
            currency_code,
            orders,
            orders_with_sessions,
            sessions,
            gmv,
            gmv_prev,
            {{ period_start(period, dbt.dateadd('day', -1, 'period_start')) }} as previous_period_start
        from {{ ref('kpi_' ~ period ~ 'ly') }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

pairs as (
    select
        cur.period_grain,
        cur.store_id,
        cur.platform,
        cur.region,
        cur.period_start,
        cur.previous_period_start,
        cur.is_complete_period and coalesce(prev.is_complete_period, false) as is_complete_comparison,
        cur.currency_code,
        cur.gmv,
        coalesce(prev.gmv, 0) as gmv_prev,
        cur.orders,
        coalesce(prev.orders, 0) as orders_prev,
        cur.sessions,
        prev.sessions as sessions_prev,
        -- sessions explain GMV only when every order of both periods is on a day with sessions
        coalesce(
            cur.sessions > 0 and prev.sessions > 0
            and cur.orders_with_sessions = cur.orders and prev.orders_with_sessions = prev.orders,
            false
        ) as has_traffic
    from periods as cur
    left join periods as prev
        on
            prev.period_grain = cur.period_grain
            and prev.store_id = cur.store_id
            and prev.period_start = cur.previous_period_start
),

factors as (
    select
        *,
        case when orders > 0 then cast(gmv as {{ type_double() }}) / orders end as aov_raw,
        case when orders_prev > 0 then cast(gmv_prev as {{ type_double() }}) / orders_prev end as aov_prev_raw,
        case when has_traffic then cast(orders as {{ type_double() }}) / sessions end as conversion_rate,
        case when has_traffic then cast(orders_prev as {{ type_double() }}) / sessions_prev end as conversion_rate_prev
    from pairs
),

filled as (
    select
        *,
        coalesce(aov_raw, aov_prev_raw, 0) as aov,
        coalesce(aov_prev_raw, aov_raw, 0) as aov_prev
    from factors
)

select
    period_grain,
    store_id,
    platform,
    region,
    period_start,
    previous_period_start,
    is_complete_comparison,
    currency_code,
    case when has_traffic then 'sessions x conversion x aov' else 'orders x aov' end as driver_basis,
    gmv,
    gmv_prev,
    gmv - gmv_prev as gmv_change,
    {{ kpi_change_pct('gmv', 'gmv_prev') }} as gmv_change_pct,
    sessions,
    sessions_prev,
    conversion_rate,
    conversion_rate_prev,
    orders,
    orders_prev,
    aov_raw as aov,
    aov_prev_raw as aov_prev,
    -- amounts, rounded to 4 decimals (the effects still add up to the change within a cent)
    case
        when has_traffic then {{ round_float('(sessions - sessions_prev) * conversion_rate_prev * aov_prev', 4) }}
    end as traffic_effect,
    case
        when has_traffic then {{ round_float('sessions * (conversion_rate - conversion_rate_prev) * aov_prev', 4) }}
    end as conversion_effect,
    case when not has_traffic then {{ round_float('(orders - orders_prev) * aov_prev', 4) }} end as orders_effect,
    {{ round_float(
        'case when has_traffic then sessions * conversion_rate * (aov - aov_prev) else orders * (aov - aov_prev) end',
        4
    ) }} as aov_effect
from filled
