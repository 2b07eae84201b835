-- Trade statistics per strategy, model version and symbol from the backtests' closed trades.
select
    {{ grain_key(['strategy', 'model_version', 'symbol']) }} as stats_key,
    strategy,
    model_version,
    symbol,
    n_trades,
    {{ safe_divide('wins', 'n_trades') }} as win_rate,
    total_pnl,
    {{ safe_divide('total_pnl', 'n_trades') }} as avg_pnl,
    {{ safe_divide('gross_profit', '-gross_loss') }} as profit_factor,
    best_trade,
    worst_trade,
    total_commission,
    total_swap,
    long_trades,
    short_trades
from (
    select
        strategy,
        model_version,
        symbol,
        count(*) as n_trades,
        sum(case when pnl > 0 then 1 else 0 end) as wins,
        sum(pnl) as total_pnl,
        sum(case when pnl > 0 then pnl else 0 end) as gross_profit,
        sum(case when pnl < 0 then pnl else 0 end) as gross_loss,
        max(pnl) as best_trade,
        min(pnl) as worst_trade,
        sum(commission) as total_commission,
        sum(swap) as total_swap,
        sum(case when direction > 0 then 1 else 0 end) as long_trades,
        sum(case when direction < 0 then 1 else 0 end) as short_trades
    from {{ lake_source('backtest_trades') }} as trades
    group by strategy, model_version, symbol
) as per_strategy
