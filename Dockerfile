# One image for every Python service: Dagster code server, webserver, daemon, MLflow, realtime.
FROM python:3.11-slim
WORKDIR /opt/alphaforge
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# torch first, the CPU wheel, so nothing pulls a CUDA build
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY marketdata marketdata
COPY ml ml
COPY assets assets
COPY orchestration orchestration
COPY realtime realtime
COPY cli cli
COPY dbt dbt
COPY deploy deploy
# dagster-dbt reads dbt's manifest when the definitions load
RUN pip install . && cd dbt && dbt parse --profiles-dir . --target-path target
RUN useradd --create-home alphaforge \
    && mkdir -p /opt/dagster/home /data \
    && cp deploy/docker/dagster.yaml /opt/dagster/home/dagster.yaml \
    && chown -R alphaforge /opt/dagster/home /data
USER alphaforge
EXPOSE 3000 4000 5000 8000
