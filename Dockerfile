# python:3.12-slim, pinned by digest (the digest several public Dockerfiles pin); Dependabot keeps it current.
FROM python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app

COPY requirements.lock /app/requirements.lock
RUN pip install --require-hashes --no-deps -r /app/requirements.lock

COPY entrypoint.py post.py /app/
COPY autoscale_ci /app/autoscale_ci
# Bytecode compiled once here (pip compiled the dependencies' already), not on every start of the step.
RUN chmod 0755 /app/post.py && python -m compileall -q /app/autoscale_ci

ENTRYPOINT ["python", "-u", "/app/entrypoint.py"]
