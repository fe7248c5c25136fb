{#- An arithmetic invariant that must hold on every row (rows where it is false fail). -#}
{% test expression_is_true(model, expression, column_name=none) %}
select * from {{ model }} where not coalesce(({{ expression }}), false)
{% endtest %}
