"""Market-data feeds behind one interface: replay, NATS, MT5 ticks and Dukascopy live."""
