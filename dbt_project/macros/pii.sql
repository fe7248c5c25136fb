{#- Buyer identifiers leave staging only as a salted hash (GDPR, APPI). The salt comes from
    KPI_PII_SALT (the `kpi` commands create a private one per installation); there is no default. -#}
{% macro hash_buyer_id(column) -%}
    {%- set salt = env_var("KPI_PII_SALT", "") -%}
    {%- if execute and not salt -%}
        {{ exceptions.raise_compiler_error("KPI_PII_SALT is not set: buyer ids cannot be hashed without a salt") }}
    {%- endif -%}
    case when {{ column }} is null then null
         else {{ sha256_hex("'" ~ salt ~ "' || ':' || cast(" ~ column ~ " as " ~ type_text() ~ ")") }}
    end
{%- endmacro %}
