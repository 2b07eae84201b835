-- One PostgreSQL, one database per tenant: Dagster's storage and MLflow's tracking store.
CREATE DATABASE dagster;
CREATE DATABASE mlflow;
