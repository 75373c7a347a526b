# RAGline — `make help` lists the targets. Every target installs what it needs first.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
UV_VERSION := 0.13.8
RAGLINE_CACHE_DIR ?= $(HOME)/.cache/ragline
export RAGLINE_CACHE_DIR
UV_DIR := $(RAGLINE_CACHE_DIR)/uv-$(UV_VERSION)
UV := $(UV_DIR)/bin/uv
VENV := .venv
RUN := $(VENV)/bin
STAMP := $(VENV)/.synced
# uv keeps its wheel cache beside our other caches, so fresh clones on a warm machine reuse it.
export UV_CACHE_DIR := $(RAGLINE_CACHE_DIR)/uv-cache
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
export GOTOOLCHAIN := local

CLUSTER ?= local
ONLY ?=
PYTEST_ARGS ?=

##@ The two commands
.PHONY: up
up: $(STAMP) ## Run RAGline locally on embedded defaults (no Docker, no cluster); Ctrl-C stops it
	$(RUN)/ragline up --cluster $(CLUSTER)

.PHONY: test
test: $(STAMP) ## Install whatever is missing, then run the whole test suite
	$(RUN)/ragline install
	$(RUN)/pytest $(PYTEST_ARGS)

##@ Everyday
.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"} /^##@/ {printf "\n\033[1m%s\033[0m\n", substr($$0, 5)} \
	  /^[a-zA-Z_-]+:.*##/ {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: install
install: $(STAMP) ## Install the Python environment and build/fetch the local infrastructure
	$(RUN)/ragline install

.PHONY: down
down: $(STAMP) ## Stop a detached local stack (ragline up --detach)
	$(RUN)/ragline down

.PHONY: status
status: $(STAMP) ## Show what runs where
	$(RUN)/ragline status

.PHONY: smoke
smoke: $(STAMP) ## Run only the smoke tests that prove each local part is the real thing
	$(RUN)/ragline install
	$(RUN)/pytest -m smoke $(PYTEST_ARGS)

.PHONY: unit
unit: $(STAMP) ## Run the fast unit tests only
	$(RUN)/pytest tests/unit tests/contracts $(PYTEST_ARGS)

.PHONY: lint
lint: $(STAMP) ## ruff format check + lint, import-linter contracts
	$(RUN)/ruff format --check .
	$(RUN)/ruff check .
	$(RUN)/lint-imports

.PHONY: fmt
fmt: $(STAMP) ## Format and autofix
	$(RUN)/ruff format .
	$(RUN)/ruff check --fix .

.PHONY: typecheck
typecheck: $(STAMP) ## mypy --strict over every package, the tests and benchmarks
	$(RUN)/mypy

.PHONY: generate
generate: $(STAMP) ## Regenerate CRDs, OpenAPI, event schemas and the values schema
	$(RUN)/python -m ragline_dev.generate write

.PHONY: verify
verify: $(STAMP) ## Fail if any generated file differs from what `make generate` writes
	$(RUN)/python -m ragline_dev.generate check

.PHONY: bench
bench: $(STAMP) ## Run the benchmarks (ONLY=name for one) into bench/results/latest.json
	$(RUN)/ragline install
	$(RUN)/python -m bench $(if $(ONLY),--only $(ONLY))

IMAGE_REPOSITORY ?= ghcr.io/ragline/ragline
IMAGE_TAG ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)

.PHONY: images
images: ## Build the images (needs Docker): ragline, plus api relay notifier llm operator
	@command -v docker >/dev/null || { echo "make images needs Docker"; exit 1; }
	DOCKER_BUILDKIT=1 docker build --target ragline -t $(IMAGE_REPOSITORY):$(IMAGE_TAG) .
	for target in api relay notifier llm operator; do \
	  DOCKER_BUILDKIT=1 docker build --target $$target -t $(IMAGE_REPOSITORY)-$$target:$(IMAGE_TAG) . ; \
	done

.PHONY: lock
lock: $(UV) ## Re-resolve uv.lock after changing dependencies
	$(UV) lock

.PHONY: clean
clean: ## Remove the virtualenv and local run state (keeps the user-level cache)
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache

##@ Set-up (automatic)
$(UV):
	@echo "==> Installing uv $(UV_VERSION) into $(UV_DIR)"
	$(PYTHON) -m venv $(UV_DIR)
	$(UV_DIR)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	@echo "==> Syncing the Python environment from uv.lock"
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@
