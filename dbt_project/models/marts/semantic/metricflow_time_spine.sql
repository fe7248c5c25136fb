{#- One row per day: the calendar MetricFlow joins metrics to (zero-filled series, offsets). -#}
select cast(unnest(generate_series(date '2020-01-01', date '2035-12-31', interval 1 day)) as date) as date_day
