#!/usr/bin/env bash
# `make up CLUSTER=kind`: RAGline in a kind cluster (needs Docker and kind).
# Creates (or reuses) the kind cluster "ragline", builds the image and loads it, installs the chart
# with charts/ragline/ci/kind-values.yaml, applies manifests/dev/kind (samples + PostgreSQL +
# Valkey) and waits for the operator's workloads. `.venv/bin/python -m ragline_dev.kind down`
# deletes the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m ragline_dev.kind up "$@"
