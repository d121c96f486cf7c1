# The two commands a new user needs: `make serve` and `make test`. Both create the
# virtual environment and install what is missing first.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test lint bench instructions clean

# The C extension is built by the install: a changed source must rebuild it.
$(STAMP): pyproject.toml setup.py src/approvals/audit/_leafcheck.c
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || { echo "Python 3.11+ is needed (set PYTHON=/path/to/python3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/approvals serve

test: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/approvals items lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/approvals items lint

bench: $(STAMP)
	$(BIN)/approvals bench

# Instructions per signed decision under valgrind: for A/B runs of a change worth a few
# per cent, which this machine's timing noise hides (src/approvals/bench/instructions.py).
instructions: $(STAMP)
	$(BIN)/python -m approvals.bench.instructions

clean:
	rm -rf $(VENV) var
