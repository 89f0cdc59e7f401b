# The two commands of the README: `make lab` and `make test`. Each creates .venv when missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT ?= gdlab-lab

.PHONY: lab test lint bench clean chromium

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

lab: $(STAMP)
	$(BIN)/gdlab lab --out $(OUT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

test: lint chromium
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# The playground's browser tests drive the system's Chromium (never a downloaded one): install
# Debian's package where we can (root with apt-get); elsewhere those tests skip, saying why.
chromium:
	@if [ -n "$$GDLAB_CHROMIUM" ] || command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update && apt-get install -y chromium) || echo "WARNING: installing chromium failed: the playground's browser tests will be skipped."; \
	else echo "WARNING: no Chromium and no way to install it (needs root and apt-get):" \
		"the playground's browser tests will be skipped; install chromium or set GDLAB_CHROMIUM."; fi

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache .hypothesis
