-- Data coverage per symbol and day: how many minutes have bars, ticks and the mean spread.
select
    symbol,
    cast("date" as date) as day,
    count(*) as minutes_with_bars,
    sum(tick_count) as ticks,
    avg(spread_mean) as mean_spread
from read_parquet('{{ var("lake") }}/bars_1m/*/*/part.parquet', hive_partitioning = true)
group by 1, 2
