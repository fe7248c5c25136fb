{#- Read-only BI access to the marts on a shared warehouse (on-run-end; docs/SCALING.md "BI roles").
    The roles themselves (logins, passwords) belong to the database administrator; every build
    re-applies what a rebuilt table loses: SELECT grants and the row-level security policies.

    seed bi_region_access (role_name, region): each role listed that exists gets USAGE on `marts` and
    SELECT on its tables, never more. Region '*' sees every row; a regional role sees the rows of its
    region's stores only (PostgreSQL row-level security): tables with store_id by the store's region,
    rollups with a region column by that region, the reference tables (var bi_reference_tables) whole,
    and any other table (a rollup across regions) not at all. The building user owns the tables, so
    its own reads are not filtered. DuckDB has no roles: there the macro does nothing. -#}
{% macro bi_access() -%}
    {{ return(adapter.dispatch('bi_access', 'kpi_platform')()) }}
{%- endmacro %}

{% macro default__bi_access() -%}
{%- endmacro %}

{% macro postgres__bi_access() -%}
    {%- set access = ref('bi_region_access') -%}
    {%- if not execute
        or adapter.get_relation(database=access.database, schema=access.schema, identifier=access.identifier) is none
        or adapter.get_relation(database=target.database, schema='marts', identifier='dim_stores') is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set roles = run_query(
        "select distinct access.role_name from " ~ access ~ " as access"
        ~ " inner join pg_roles on pg_roles.rolname = access.role_name order by 1"
    ).columns[0].values() -%}
    {%- set tables = run_query(
        "select tables.table_name,"
        ~ " bool_or(columns.column_name = 'store_id') as has_store,"
        ~ " bool_or(columns.column_name = 'region') as has_region"
        ~ " from information_schema.tables as tables"
        ~ " inner join information_schema.columns as columns"
        ~ " on columns.table_schema = tables.table_schema and columns.table_name = tables.table_name"
        ~ " where tables.table_schema = 'marts' and tables.table_type = 'BASE TABLE'"
        ~ " group by tables.table_name order by 1"
    ) -%}
    {%- set statements = [] -%}
    {#- A definer function: the policies must read dim_stores and the seed without the caller's grants,
        and without dim_stores' own policy (a policy reading its own table would recurse). -#}
    {%- do statements.append(
        "create or replace function marts.bi_visible_regions(viewer name) returns setof text"
        ~ " language sql stable security definer set search_path = pg_catalog as $$"
        ~ " select access.region from " ~ access ~ " as access"
        ~ " where case when exists (select 1 from pg_roles where rolname = access.role_name)"
        ~ " then pg_has_role(viewer, access.role_name, 'member') else false end $$"
    ) -%}
    {%- do statements.append(
        "create or replace function marts.bi_visible_stores(viewer name) returns setof text"
        ~ " language sql stable security definer set search_path = pg_catalog as $$"
        ~ " select stores.store_id from marts.dim_stores as stores"
        ~ " where exists (select 1 from marts.bi_visible_regions(viewer) as visible(region)"
        ~ " where visible.region in ('*', stores.region)) $$"
    ) -%}
    {%- do statements.append("revoke all on function marts.bi_visible_regions(name) from public") -%}
    {%- do statements.append("revoke all on function marts.bi_visible_stores(name) from public") -%}
    {%- for role in roles -%}
        {%- do statements.append('grant usage on schema marts to "' ~ role ~ '"') -%}
        {%- do statements.append('grant select on all tables in schema marts to "' ~ role ~ '"') -%}
        {%- do statements.append('grant execute on function marts.bi_visible_regions(name) to "' ~ role ~ '"') -%}
        {%- do statements.append('grant execute on function marts.bi_visible_stores(name) to "' ~ role ~ '"') -%}
    {%- endfor -%}
    {%- for table, has_store, has_region in tables.rows -%}
        {%- set relation = 'marts."' ~ table ~ '"' -%}
        {%- if has_store -%}
            {%- set visible = "store_id in (select marts.bi_visible_stores(current_user))" -%}
        {%- elif has_region -%}
            {%- set visible = "exists (select 1 from marts.bi_visible_regions(current_user) as v(region)"
                ~ " where v.region in ('*', " ~ relation ~ ".region))" -%}
        {%- elif table in var('bi_reference_tables') -%}
            {%- set visible = "true" -%}
        {%- else -%}
            {%- set visible = "'*' in (select marts.bi_visible_regions(current_user))" -%}
        {%- endif -%}
        {%- do statements.append("alter table " ~ relation ~ " enable row level security") -%}
        {%- do statements.append("drop policy if exists bi_region on " ~ relation) -%}
        {%- do statements.append(
            "create policy bi_region on " ~ relation ~ " for select using (" ~ visible ~ ")"
        ) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n') ~ ';') }}
{%- endmacro %}
