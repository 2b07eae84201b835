-- Data coverage per symbol and UTC day: minutes with bars (of 1440), ticks and the mean spread.
select
    {{ grain_key(['symbol', 'day']) }} as coverage_key,
    symbol,
    day,
    minutes_with_bars,
    minutes_with_bars / 1440.0 as coverage,
    ticks,
    mean_spread
from (
    select
        symbol,
        {{ to_day('ts') }} as day,
        count(*) as minutes_with_bars,
        sum(tick_count) as ticks,
        avg(spread_mean) as mean_spread
    from {{ lake_source('bars_1m') }} as bars
    group by symbol, {{ to_day('ts') }}
) as per_day
