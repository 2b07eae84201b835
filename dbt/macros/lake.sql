{#- The lake's tables. On DuckDB they are Parquet files under var('lake'), read in place; a table
    whose files do not exist yet (no backtest has run) reads as empty, with its columns typed.
    On ClickHouse they are the production store's tables, named by the `lake` source. -#}

{% macro lake_columns(table) %}
  {%- set columns = {
      'bars_1m': {'symbol': 'varchar', 'date': 'date', 'ts': 'timestamptz', 'bid_open': 'double',
                  'bid_high': 'double', 'bid_low': 'double', 'bid_close': 'double',
                  'spread_mean': 'double', 'spread_max': 'double', 'tick_count': 'bigint'},
      'backtest_trades': {'strategy': 'varchar', 'model_version': 'varchar', 'symbol': 'varchar',
                          'entry_time': 'timestamptz', 'exit_time': 'timestamptz',
                          'direction': 'integer', 'lots': 'double', 'gross_pnl': 'double',
                          'commission': 'double', 'swap': 'double', 'pnl': 'double'},
      'backtest_equity': {'strategy': 'varchar', 'model_version': 'varchar', 'symbol': 'varchar',
                          'ts': 'timestamptz', 'equity': 'double'},
  } -%}
  {{ return(columns[table]) }}
{% endmacro %}

{% macro lake_files(table) %}
  {%- set layout = {'bars_1m': '*/*/part.parquet', 'backtest_trades': '*.parquet',
                    'backtest_equity': '*.parquet'} -%}
  {{ return(var('lake') ~ '/' ~ table ~ '/' ~ layout[table]) }}
{% endmacro %}

{% macro lake_source(table) %}{{ return(adapter.dispatch('lake_source', 'alphaforge')(table)) }}{% endmacro %}

{% macro default__lake_source(table) %}{{ source('lake', table) }}{% endmacro %}

{% macro duckdb__lake_source(table) %}
  {%- set relation = source('lake', table) -%}  {#- keeps the lineage in the manifest -#}
  {%- set files = lake_files(table) -%}
  {%- set present = true -%}
  {%- if execute -%}
    {%- set present = run_query("select count(*) from glob('" ~ files ~ "')").columns[0].values()[0] > 0 -%}
  {%- endif -%}
  {%- if present -%}
    read_parquet('{{ files }}', hive_partitioning = true, union_by_name = true)
  {%- else -%}
    (select {% for name, type in lake_columns(table).items() -%}
       cast(null as {{ type }}) as "{{ name }}"{{ "," if not loop.last }}
     {%- endfor %} where false)
  {%- endif -%}
{% endmacro %}
