{#- Buyer identifiers leave staging only as a salted hash (GDPR, APPI): KPI_PII_SALT. -#}
{% macro hash_buyer_id(column) -%}
    case when {{ column }} is null then null
         else sha256('{{ env_var("KPI_PII_SALT", "kpi-platform-default-salt") }}' || ':' || cast({{ column }} as varchar))
    end
{%- endmacro %}
