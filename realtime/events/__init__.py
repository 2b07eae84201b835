"""Events out of the service: the hub fanning signals, orders and fills to WebSocket and NATS."""
