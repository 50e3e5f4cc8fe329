# Every target bootstraps .venv itself: `make demo` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements/dev.txt pyproject.toml | cksum | cut -d' ' -f1)
UV_VERSION := 0.13.8
PYTEST_ARGS ?=

.PHONY: help venv test demo bench lint build lock clean

help:
	@echo "make demo    set up .venv (pinned deps) and run the built-in scenario end to end"
	@echo "make test    set up .venv and run the whole suite"
	@echo "make bench   speed and scale figures (a table, and JSON in benchmarks/results/)"
	@echo "make lint    ruff and cfn-lint"
	@echo "make build   Lambda artifacts without Docker (docs/deploy.md)"
	@echo "make lock    regenerate the pinned requirements after changing pyproject.toml"
	@echo "make clean   remove .venv and build output"

venv: $(STAMP)

$(STAMP): pyproject.toml requirements/dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	@$(VENV)/bin/uv pip install -q --python $(PY) -r requirements/dev.txt
	@$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

test: venv
	$(PY) -m pytest -q -n 2 $(PYTEST_ARGS)

demo: venv
	$(VENV)/bin/spam-blocker demo

bench: venv
	$(PY) -m benchmarks

lint: venv
	$(VENV)/bin/ruff check shared functions local tests benchmarks
	$(VENV)/bin/cfn-lint template.yaml

# Deployable artifacts without Docker (template.yaml points here): build/layer (deps for Linux arm64 +
# spam_blocker) and build/functions/<name>. Needs the package registry; see docs/deploy.md.
build: venv
	$(PY) scripts/build_lambda.py

# Regenerate the pinned lock files after changing pyproject.toml.
lock: venv
	$(VENV)/bin/uv pip compile -q pyproject.toml -o requirements/lambda.txt --python-version 3.12
	$(VENV)/bin/uv pip compile -q pyproject.toml --extra dev -o requirements/dev.txt --python-version 3.11

clean:
	rm -rf $(VENV) build .aws-sam
