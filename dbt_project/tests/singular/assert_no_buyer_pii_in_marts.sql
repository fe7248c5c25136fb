{#- Buyer personal data (GDPR, Japan's APPI) stops in staging: no column of the marts schema may be
    named like a name, e-mail, phone number or address. The only buyer key allowed is the salted
    `buyer_id_hash`. Fails with the offending relation and column. -#}
{{ config(severity='error', tags=['pii']) }}

select
    table_name,
    column_name
from information_schema.columns
where
    lower(table_schema) = 'marts'
    and (
        {{ regex_matches("lower(column_name)", "'(^|_)(e_?mail|phone|mobile|tel|address|street|city|zip|postal|postcode|recipient)(_|$)'") }}
        or {{ regex_matches("lower(column_name)", "'(^|_)(first|last|full|buyer|customer|orderer|recipient)_name(_|$)'") }}
        or ({{ regex_matches("lower(column_name)", "'(^|_)(buyer|customer|orderer|user)_id(_|$)'") }} and lower(column_name) != 'buyer_id_hash')
    )
