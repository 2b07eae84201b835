FROM python:3.11-slim
WORKDIR /opt/alphaforge
# torch first, the CPU wheel, so nothing pulls a CUDA build
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY marketdata marketdata
COPY ml ml
COPY assets assets
COPY orchestration orchestration
COPY realtime realtime
COPY dbt dbt
COPY deploy deploy
RUN pip install --no-cache-dir . && cd dbt && dbt parse --profiles-dir .
RUN useradd --create-home alphaforge && mkdir -p /opt/dagster/home /data && chown alphaforge /opt/dagster/home /data
USER alphaforge
