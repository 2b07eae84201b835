-- One row per symbol and UTC day: the day's bid OHLC from its 1-minute bars, range and spread.
select
    {{ grain_key(['symbol', 'day']) }} as summary_key,
    symbol,
    day,
    open,
    high,
    low,
    close,
    {{ safe_divide('close - open', 'open') }} as day_return,
    high - low as day_range,
    mean_spread,
    max_spread,
    ticks,
    minutes
from (
    select
        symbol,
        {{ to_day('ts') }} as day,
        {{ first_by('bid_open', 'ts') }} as open,
        max(bid_high) as high,
        min(bid_low) as low,
        {{ last_by('bid_close', 'ts') }} as close,
        avg(spread_mean) as mean_spread,
        max(spread_max) as max_spread,
        sum(tick_count) as ticks,
        count(*) as minutes
    from {{ lake_source('bars_1m') }} as bars
    group by symbol, {{ to_day('ts') }}
) as per_day
