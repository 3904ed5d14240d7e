# Materials Design Studio: `make run` starts the app, `make test` runs every test.
# Both work from a fresh clone: they create .venv and install what they need.

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Stamps live inside .venv: deleting .venv resets everything, editing a requirements file
# reinstalls on the next call.
RUNTIME_STAMP := $(VENV)/.stamp-requirements
DEV_STAMP := $(VENV)/.stamp-requirements-dev
CHROMIUM := /usr/bin/chromium
PYTEST_ARGS ?=
# e.g. make run RUN_ARGS="--server.headless true --server.port 8502"
RUN_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv run test-deps data test lint

help:
	@echo "make run        create .venv and the data cache if needed, start the app (streamlit run app.py)"
	@echo "make test       install test deps + chromium, prepare data, run pytest"
	@echo "                (extra pytest arguments: make test PYTEST_ARGS='-m \"not e2e\"')"
	@echo "make venv       create .venv and install requirements.txt"
	@echo "make test-deps  install requirements-dev.txt, Debian chromium and postgresql (as root)"
	@echo "make data       prepare the local data cache (python -m core.data prepare)"
	@echo "make lint       ruff check"

venv: $(RUNTIME_STAMP)

$(RUNTIME_STAMP): requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

# The app runs on the shipped models alone, but the nearest measured glasses, the closest
# training molecules and the concrete campaign read the data cache: prepare it first
# (a no-op, about a second, once it is there).
run: venv data
	$(BIN)/streamlit run app.py --browser.gatherUsageStats false $(RUN_ARGS)

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@

test-deps: $(DEV_STAMP)
	@if [ -x $(CHROMIUM) ] && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian chromium (browser tests) and postgresql (campaign store test)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq chromium postgresql; \
	else \
		echo "WARNING: $(CHROMIUM) or postgresql is missing and this is not root:" \
		     "run 'sudo apt-get install chromium postgresql', or those tests are skipped" \
		     "(fail under CI)"; \
	fi

data: venv
	$(BIN)/python -m core.data prepare

test: test-deps data
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
