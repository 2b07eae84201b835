"""What the service tells operators: JSON logs and Prometheus metrics."""
