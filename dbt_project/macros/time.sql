{#- Timestamps: parse an ISO 8601 string with offset into a UTC timestamp, and derive the local
    calendar day of a UTC timestamp in a store's IANA time zone. One place for both rules. -#}

{% macro to_utc(iso_text) -%}
    {{ return(adapter.dispatch('to_utc', 'kpi_platform')(iso_text)) }}
{%- endmacro %}

{% macro default__to_utc(iso_text) -%}
    cast(timezone('UTC', cast({{ iso_text }} as timestamptz)) as timestamp)
{%- endmacro %}

{% macro local_date(utc_timestamp, timezone_column) -%}
    {{ return(adapter.dispatch('local_date', 'kpi_platform')(utc_timestamp, timezone_column)) }}
{%- endmacro %}

{% macro default__local_date(utc_timestamp, timezone_column) -%}
    cast(timezone({{ timezone_column }}, timezone('UTC', {{ utc_timestamp }})) as date)
{%- endmacro %}

{#- The UTC instant at which a local calendar day ends in the given IANA time zone. -#}
{% macro local_day_end_utc(local_date, timezone_column) -%}
    {{ return(adapter.dispatch('local_day_end_utc', 'kpi_platform')(local_date, timezone_column)) }}
{%- endmacro %}

{% macro default__local_day_end_utc(local_date, timezone_column) -%}
    cast(timezone('UTC', timezone({{ timezone_column }}, cast({{ local_date }} + 1 as timestamp))) as timestamp)
{%- endmacro %}

{#- An instant (timestamp with time zone) as UTC wall-clock time. -#}
{% macro timestamptz_to_utc(instant) -%}
    {{ return(adapter.dispatch('timestamptz_to_utc', 'kpi_platform')(instant)) }}
{%- endmacro %}

{% macro default__timestamptz_to_utc(instant) -%}
    cast(timezone('UTC', {{ instant }}) as timestamp)
{%- endmacro %}

{#- The build's clock, UTC. -#}
{% macro utc_now() -%}
    {{ return(adapter.dispatch('utc_now', 'kpi_platform')()) }}
{%- endmacro %}

{% macro default__utc_now() -%}
    {{ timestamptz_to_utc('now()') }}
{%- endmacro %}

{#- Unix seconds (TikTok Shop, Shopee) to a UTC timestamp. -#}
{% macro epoch_to_utc(seconds) -%}
    {{ return(adapter.dispatch('epoch_to_utc', 'kpi_platform')(seconds)) }}
{%- endmacro %}

{% macro default__epoch_to_utc(seconds) -%}
    cast(timezone('UTC', to_timestamp(cast({{ seconds }} as bigint))) as timestamp)
{%- endmacro %}

{#- Hours (fractional) from one UTC timestamp to a later one. -#}
{% macro datediff_hours(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('datediff_hours', 'kpi_platform')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro default__datediff_hours(start_ts, end_ts) -%}
    (epoch({{ end_ts }}) - epoch({{ start_ts }})) / 3600.0
{%- endmacro %}

{% macro postgres__datediff_hours(start_ts, end_ts) -%}
    cast(extract(epoch from {{ end_ts }}) - extract(epoch from {{ start_ts }}) as double precision) / 3600
{%- endmacro %}

{% macro spark__datediff_hours(start_ts, end_ts) -%}
    cast(unix_micros(cast({{ end_ts }} as timestamp)) - unix_micros(cast({{ start_ts }} as timestamp)) as double) / 3600000000
{%- endmacro %}

{#- Spark: timestamps are instants shown in the session time zone (UTC, profiles.yml). -#}
{% macro spark__to_utc(iso_text) -%}
    to_timestamp({{ iso_text }})
{%- endmacro %}

{% macro spark__local_date(utc_timestamp, timezone_column) -%}
    cast(from_utc_timestamp({{ utc_timestamp }}, {{ timezone_column }}) as date)
{%- endmacro %}

{% macro spark__local_day_end_utc(local_date, timezone_column) -%}
    to_utc_timestamp(cast(date_add({{ local_date }}, 1) as timestamp), {{ timezone_column }})
{%- endmacro %}

{% macro spark__epoch_to_utc(seconds) -%}
    timestamp_seconds(cast({{ seconds }} as bigint))
{%- endmacro %}

{% macro spark__timestamptz_to_utc(instant) -%}
    cast({{ instant }} as timestamp)
{%- endmacro %}

{% macro spark__utc_now() -%}
    current_timestamp()
{%- endmacro %}
