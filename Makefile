# Set-up and entry points. `make demo` and `make test` each create the virtual environment
# when it is missing, so either one works first on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1

.PHONY: demo test setup browser lint dev simulate dashboard clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --only-binary :all: -c constraints.txt -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/zone-marts demo

test: setup browser
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

# Installs Debian's chromium for the browser tests when apt-get is available and the
# browser is missing; elsewhere those tests skip with a message (and fail under CI=true).
browser:
	@command -v chromium >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 \
		|| [ "$$(id -u)" != 0 ] \
		|| (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "could not install chromium: browser tests will be skipped"

# The Dagster UI and daemon; DAGSTER_PORT picks another port, which the alerts' links follow
# unless DAGSTER_UI_URL is set.
DAGSTER_PORT ?= 3000
dev: setup
	DAGSTER_UI_URL="$${DAGSTER_UI_URL:-http://127.0.0.1:$(DAGSTER_PORT)}" \
		$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(DAGSTER_PORT)

# One zone's dashboard, for example: make dashboard ZONE=reunion
ZONE ?= idf
dashboard: setup
	$(BIN)/zone-marts dashboard --zone $(ZONE)

simulate: setup
	$(BIN)/zone-marts simulate

lint: setup
	$(BIN)/ruff check dagster_project dashboard tests benchmarks
	$(BIN)/ruff format --check dagster_project dashboard tests benchmarks

clean:
	rm -rf data marts/*.duckdb marts/.candidates .dagster_home/storage dbt_project/target
