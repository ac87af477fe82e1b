# Rapport on the official Airflow image. The tag's Airflow and Python versions must equal the
# apache-airflow pin and requires-python of pyproject.toml (tests/unit/test_docker_compose.py).
FROM apache/airflow:3.3.2-python3.11

# setuptools builds in the source tree (build/, *.egg-info), so the airflow user must own it.
# Only this directory is made as root; pip runs as airflow, as the image docs require.
USER root
RUN install -d -o airflow -g 0 /opt/rapport
USER airflow
WORKDIR /opt/rapport

COPY --chown=airflow:0 requirements/constraints.txt requirements/constraints.txt
# README.m[d]: the wildcard copies the readme when present and does not fail when it is not.
COPY --chown=airflow:0 pyproject.toml README.m[d] ./
COPY --chown=airflow:0 plugins/ plugins/

# Naming apache-airflow at the image's own version stops pip from swapping Airflow out
# (official image docs); the lock keeps every other dependency at the version tested locally.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -c requirements/constraints.txt .

WORKDIR /opt/airflow
