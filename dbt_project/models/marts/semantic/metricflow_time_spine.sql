{#- One row per day: the calendar MetricFlow joins metrics to (zero-filled series, offsets). -#}
select {{ date_series("date '2020-01-01'", "date '2035-12-31'") }} as date_day
