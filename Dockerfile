# syntax=docker/dockerfile:1.7
# One multi-target file for every RAGline image; `make images` builds them.
#
#   ragline   the one image every workload runs: the operator stamps it on the API, relay,
#             notifier, LLM Deployments and the migration/ingestion Jobs and sets each one's
#             command (ragline_operator.resources.env.COMMANDS); the chart runs the operator in it.
#   api | relay | notifier | llm | operator
#             the same layers with that entry point as the default, for `docker run`.
#   dev       `ragline` plus PYTHONPATH=/tmp/live, where Tilt's live_update syncs source.
#
# Dependencies come from uv.lock only (`uv sync --frozen --no-dev`); the runtime stage gets the
# finished virtualenv and nothing else: no uv, no compiler, no build cache. The user is numeric and
# non-root (10001, the uid the operator's pod securityContext sets), and nothing writes outside
# /tmp, so every image runs with readOnlyRootFilesystem and /tmp as an emptyDir.

# Python 3.11.7 is the interpreter the test suite runs on; Debian bookworm, slim.
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
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY operator/ operator/
COPY services/ services/
COPY hack/ragline_dev/ hack/ragline_dev/
# Not editable: the packages are copied into the virtualenv, so /src is not needed at run time.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

FROM ${PYTHON_IMAGE} AS ragline
# A fixed non-root uid, so runAsNonRoot can be checked without a name lookup.
RUN groupadd --system --gid 10001 ragline \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin ragline
COPY --from=build /app/.venv /app/.venv
# Bytecode is compiled at build time; nothing may write it at run time (read-only root).
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /app
USER 10001:10001
# With a read-only root filesystem only /tmp (an emptyDir) is written.
VOLUME ["/tmp"]
# Workloads listen on 8080 (ragline_operator.resources.env.HTTP_PORT); kopf's health endpoint too.
EXPOSE 8080
CMD ["python", "-c", "print('RAGline image: the operator sets each workload command')"]

FROM ragline AS api
ENTRYPOINT ["python", "-m", "ragline_api", "serve", "--host", "0.0.0.0", "--port", "8080"]

FROM ragline AS relay
ENTRYPOINT ["python", "-m", "ragline_relay", "run"]

FROM ragline AS notifier
ENTRYPOINT ["python", "-m", "ragline_notifier"]

FROM ragline AS llm
ENTRYPOINT ["python", "-m", "ragline_llm", "serve"]

FROM ragline AS operator
ENTRYPOINT ["kopf", "run", "--standalone", "--all-namespaces", "--liveness=http://0.0.0.0:8080/healthz", "--module=ragline_operator.main"]

FROM ragline AS dev
# Tilt syncs edited packages to /tmp/live/<package> (an emptyDir, so it survives a container
# restart); PYTHONPATH puts them before the installed copies.
ENV PYTHONPATH=/tmp/live
