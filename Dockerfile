# syntax=docker/dockerfile:1.7
# One multi-target file for every RAGline image: `make images` builds each target.
#   docker build --target api -t ragline/api .      (api | relay | notifier | llm | operator)
# Dependencies come from uv.lock only; the runtime stage has no compiler, no uv and no shell needs.

ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm
ARG UV_VERSION=0.13.8

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
# Dependencies first, so source edits reuse this layer.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY operator/ operator/
COPY services/ services/
COPY hack/ragline_dev/ hack/ragline_dev/
RUN uv sync --frozen --no-dev --no-editable

FROM ${PYTHON_IMAGE} AS runtime
# A fixed non-root uid, so runAsNonRoot can be checked without a name lookup.
RUN groupadd --system --gid 10001 ragline \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin ragline
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /app
USER 10001:10001
# With a read-only root filesystem only /tmp (an emptyDir) is written.
VOLUME ["/tmp"]

FROM runtime AS api
EXPOSE 8000
ENTRYPOINT ["python", "-m", "ragline_api", "serve", "--host", "0.0.0.0", "--port", "8000"]

FROM runtime AS relay
EXPOSE 8001
ENTRYPOINT ["python", "-m", "ragline_relay"]

FROM runtime AS notifier
EXPOSE 8002
ENTRYPOINT ["python", "-m", "ragline_notifier"]

FROM runtime AS llm
EXPOSE 8003
ENTRYPOINT ["python", "-m", "ragline_llm"]

FROM runtime AS operator
ENTRYPOINT ["kopf", "run", "--standalone", "--all-namespaces", "-m", "ragline_operator.main"]
