"""Machine learning: features, labels, models, MLflow registry, backtests, optimisation, LLMs."""
