-- Daily P&L and drawdown per strategy and model version: the equity curves summed over symbols,
-- taken at each day's last mark; drawdown is equity / running peak - 1 (0 at a new high).
with per_symbol_day as (
    select
        strategy,
        model_version,
        symbol,
        {{ to_day('ts') }} as day,
        {{ last_by('equity', 'ts') }} as equity
    from {{ lake_source('backtest_equity') }} as equity
    group by strategy, model_version, symbol, {{ to_day('ts') }}
),

per_day as (
    select strategy, model_version, day, sum(equity) as equity
    from per_symbol_day
    group by strategy, model_version, day
),

with_previous as (
    select
        strategy,
        model_version,
        day,
        equity,
        lag({{ nullable('equity') }}) over (partition by strategy, model_version order by day) as previous_equity,
        max(equity) over (partition by strategy, model_version order by day
                          rows between unbounded preceding and current row) as peak_equity
    from per_day
)

select
    {{ grain_key(['strategy', 'model_version', 'day']) }} as pnl_key,
    strategy,
    model_version,
    day,
    equity,
    equity - coalesce(previous_equity, equity) as daily_pnl,
    peak_equity,
    {{ safe_divide('equity', 'peak_equity') }} - 1 as drawdown
from with_previous
