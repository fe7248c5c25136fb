{#- SQL that differs between engines, behind adapter dispatch: DuckDB (the default target), PostgreSQL
    (the shared warehouse) and Spark (the scale path). Models call these instead of an engine's own
    function; tests/unit/test_portable_sql.py fails on a DuckDB-only construct left in a model.
    docs/SCALING.md lists which macro replaces which construct. -#}

{#- The 8-byte float type (`double` is not a type name on PostgreSQL). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'kpi_platform')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double{%- endmacro %}

{% macro postgres__type_double() -%}double precision{%- endmacro %}

{#- Variable-length text (`varchar` needs a length on Spark). -#}
{% macro type_text() -%}
    {{ return(adapter.dispatch('type_text', 'kpi_platform')()) }}
{%- endmacro %}

{% macro default__type_text() -%}varchar{%- endmacro %}

{% macro spark__type_text() -%}string{%- endmacro %}

{#- A text cell as an integer, null when it is blank or not a whole number (report cells). -#}
{% macro try_cast_integer(expression) -%}
    {{ return(adapter.dispatch('try_cast_integer', 'kpi_platform')(expression)) }}
{%- endmacro %}

{% macro default__try_cast_integer(expression) -%}
    try_cast({{ expression }} as integer)
{%- endmacro %}

{% macro postgres__try_cast_integer(expression) -%}
    case when trim({{ expression }}) ~ '^[+-]?[0-9]{1,9}$' then cast(trim({{ expression }}) as integer) end
{%- endmacro %}

{% macro spark__try_cast_integer(expression) -%}
    try_cast(trim({{ expression }}) as int)
{%- endmacro %}

{#- Any one value of the group, for columns that are the same on every row of it
    (PostgreSQL 15 has no any_value: the smallest is as good). -#}
{% macro any_value(expression) -%}
    {{ return(adapter.dispatch('any_value', 'kpi_platform')(expression)) }}
{%- endmacro %}

{% macro default__any_value(expression) -%}
    any_value({{ expression }})
{%- endmacro %}

{% macro postgres__any_value(expression) -%}
    min({{ expression }})
{%- endmacro %}

{#- The value on the row of the group with the greatest `key` among the rows where `condition` holds
    (rows with a null key are skipped). -#}
{% macro arg_max(value, key, condition='true') -%}
    {{ return(adapter.dispatch('arg_max', 'kpi_platform')(value, key, condition)) }}
{%- endmacro %}

{% macro default__arg_max(value, key, condition) -%}
    arg_max({{ value }}, {{ key }}) filter (where {{ condition }})
{%- endmacro %}

{% macro postgres__arg_max(value, key, condition) -%}
    (array_agg({{ value }} order by {{ key }} desc) filter (where ({{ condition }}) and {{ key }} is not null))[1]
{%- endmacro %}

{% macro spark__arg_max(value, key, condition) -%}
    max_by({{ value }}, {{ key }}) filter (where ({{ condition }}) and {{ key }} is not null)
{%- endmacro %}

{#- Strings of a group joined with `separator`, in the order of `order_by`. -#}
{% macro string_agg_ordered(expression, separator, order_by) -%}
    {{ return(adapter.dispatch('string_agg_ordered', 'kpi_platform')(expression, separator, order_by)) }}
{%- endmacro %}

{% macro default__string_agg_ordered(expression, separator, order_by) -%}
    string_agg({{ expression }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}

{% macro spark__string_agg_ordered(expression, separator, order_by) -%}
    array_join(transform(
        array_sort(collect_list(struct({{ order_by }} as k, {{ expression }} as v))), x -> x.v
    ), {{ separator }})
{%- endmacro %}

{#- One row per calendar day from `start_date` to `end_date` (both included): a set-returning
    expression for a select list, typed date. -#}
{% macro date_series(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_series', 'kpi_platform')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__date_series(start_date, end_date) -%}
    cast(unnest(generate_series(cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval 1 day)) as date)
{%- endmacro %}

{% macro postgres__date_series(start_date, end_date) -%}
    cast(generate_series(cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval '1 day') as date)
{%- endmacro %}

{% macro spark__date_series(start_date, end_date) -%}
    explode(sequence(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day))
{%- endmacro %}

{#- Lower-case hex SHA-256 of a text. -#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'kpi_platform')(expression)) }}
{%- endmacro %}

{% macro default__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}

{% macro postgres__sha256_hex(expression) -%}
    encode(sha256(convert_to({{ expression }}, 'UTF8')), 'hex')
{%- endmacro %}

{% macro spark__sha256_hex(expression) -%}
    sha2({{ expression }}, 256)
{%- endmacro %}

{#- True when a text matches a regular expression anywhere. -#}
{% macro regex_matches(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'kpi_platform')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(expression, pattern) -%}
    regexp_matches({{ expression }}, {{ pattern }})
{%- endmacro %}

{% macro postgres__regex_matches(expression, pattern) -%}
    ({{ expression }} ~ {{ pattern }})
{%- endmacro %}

{% macro spark__regex_matches(expression, pattern) -%}
    ({{ expression }} rlike {{ pattern }})
{%- endmacro %}

{#- The rows of `relation` (a relation or a parenthesised query, aliased) that are first in their
    partition: QUALIFY row_number() = 1, written as a subquery so that every engine runs it. -#}
{% macro first_per_partition(relation, columns, partition_by, order_by) -%}
    select {{ columns | join(', ') }}
    from (
        select
            *,
            row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as _first_rank
        from {{ relation }}
    ) as ranked
    where _first_rank = 1
{%- endmacro %}

{#- A float rounded to `digits` decimals, still a float (PostgreSQL rounds only numeric). -#}
{% macro round_float(expression, digits) -%}
    {{ return(adapter.dispatch('round_float', 'kpi_platform')(expression, digits)) }}
{%- endmacro %}

{% macro default__round_float(expression, digits) -%}
    round({{ expression }}, {{ digits }})
{%- endmacro %}

{% macro postgres__round_float(expression, digits) -%}
    cast(round(cast({{ expression }} as numeric), {{ digits }}) as double precision)
{%- endmacro %}
