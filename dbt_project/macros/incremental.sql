{#- Incremental facts (docs/DECISIONS.md, "Incremental facts"): a run rebuilds the keys whose raw
    records landed since the fact was last built, plus the keys a late change elsewhere can touch.
    Each helper is for use inside `{% if is_incremental() %}`. -#}

{#- Per store, the newest raw load (`_loaded_at`) the fact's rows are built from, less
    `incremental_watermark_margin_seconds`: a raw file is stamped just before it is written, so one
    still being written while the last build read the lake is older than that build's watermark. -#}
{% macro store_watermarks() -%}
    select
        store_id,
        {{ dbt.dateadd('second', -1 * var('incremental_watermark_margin_seconds'), 'max(_loaded_at)') }} as watermark
    from {{ this }}
    group by store_id
{%- endmacro %}

{#- True for a row loaded after its store's watermark (every row of a store the fact has not seen). -#}
{% macro loaded_since_watermark(loaded_at, watermark) -%}
    ({{ watermark }} is null or {{ loaded_at }} > {{ watermark }})
{%- endmacro %}

{#- The (local day, currency) pairs whose rate to the reporting currency is no longer the one the
    fact holds: a day first converted at a carried-forward rate and published since, or a change of
    the reporting currency. -#}
{% macro fx_changed_days(date_column) -%}
    select
        {{ date_column }} as rate_day,
        currency_code,
        reporting_currency_code,
        rate_to_reporting
    from {{ this }}
    except
    select
        rate_day,
        currency_code,
        reporting_currency_code,
        rate_to_reporting
    from {{ ref('int_fx_rates__daily') }}
{%- endmacro %}

{#- Pre-hook: delete the rows whose order is now kept out of the KPIs (cancelled, or flagged as brushing
    by orders that landed later). delete+insert alone cannot: an excluded key is not in the new batch. -#}
{% macro delete_excluded_rows(excluded_relation, key_columns) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where exists (
        select 1
        from {{ excluded_relation }} as excluded
        where
            excluded.exclusion_reason is not null
            {%- for key in key_columns %}
            and excluded.{{ key }} = {{ this }}.{{ key }}
            {%- endfor %}
    )
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: log how many rows the incremental batch held (dbt-duckdb reports no rows_affected in
    run_results.json). Only DuckDB keeps the batch as a temporary table one can count here. -#}
{% macro log_incremental_batch() -%}
    {{ return(adapter.dispatch('log_incremental_batch', 'kpi_platform')()) }}
{%- endmacro %}

{% macro default__log_incremental_batch() -%}
{%- endmacro %}

{% macro duckdb__log_incremental_batch() -%}
    {%- if execute and not flags.FULL_REFRESH -%}
        {%- set batches = run_query(
            "select table_name from duckdb_tables() where temporary and table_name like '"
            ~ this.identifier ~ "\\_\\_dbt\\_tmp%' escape '\\'"
        ) -%}
        {%- for batch in batches.rows -%}
            {%- set rows = run_query('select count(*) from temp.main."' ~ batch[0] ~ '"').rows[0][0] -%}
            {{ log('incremental batch: ' ~ this.identifier ~ ' ' ~ rows ~ ' rows', info=True) }}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- The orders an incremental run of an order-keyed fact rebuilds (store_id, order_id), from `rows`
    (a CTE with store_id, order_id, order_date, currency_code, _loaded_at; needs a `watermarks` CTE):
    landed after the store's watermark, counting but missing from the fact, or placed on a local day
    whose FX rate changed. fct_orders and fct_order_lines share it, so they rebuild the same orders. -#}
{% macro touched_orders(rows) -%}
    select
        {{ rows }}.store_id,
        {{ rows }}.order_id
    from {{ rows }}
    left join watermarks on watermarks.store_id = {{ rows }}.store_id
    where {{ loaded_since_watermark(rows ~ '._loaded_at', 'watermarks.watermark') }}
    union
    select
        {{ rows }}.store_id,
        {{ rows }}.order_id
    from {{ rows }}
    where not exists (
        select 1 from {{ this }} as built
        where built.store_id = {{ rows }}.store_id and built.order_id = {{ rows }}.order_id
    )
    union
    select
        {{ rows }}.store_id,
        {{ rows }}.order_id
    from {{ rows }}
    inner join ({{ fx_changed_days('order_date') }}) as changed
        on changed.rate_day = {{ rows }}.order_date and changed.currency_code = {{ rows }}.currency_code
{%- endmacro %}
