"""Market data: instruments, the Dukascopy datafeed, tick and bar stores, bar aggregation."""
