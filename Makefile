# Two commands on a fresh machine: `make run` and `make test`. Only Python 3.11 and make are needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-unit test-integration test-browser quality lint format migrate demo sandbox worker bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

# Web server, Celery worker (with its beat), the API sandbox and the demo buyer platform together; Ctrl-C stops all four.
run: demo
	$(BIN)/honcho -f Procfile.dev start

test: install
	$(BIN)/python -m pytest --ds=passemarche.settings.test $(PYTEST_ARGS)

test-unit: install
	$(BIN)/python -m pytest --ds=passemarche.settings.test -m "not integration" $(PYTEST_ARGS)

test-integration: install
	$(BIN)/python -m pytest --ds=passemarche.settings.test -m integration $(PYTEST_ARGS)

# Headless Chromium (/usr/bin/chromium, or CHROMIUM_PATH) on the live server; screenshots in docs/screenshots/.
test-browser: install
	$(BIN)/python -m pytest --ds=passemarche.settings.test -m browser $(PYTEST_ARGS)

quality: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check --fail-level WARNING

lint: quality

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

sandbox: install
	$(BIN)/python -m connectors.sandbox

worker: install
	$(BIN)/celery -A passemarche worker -B --loglevel=INFO --without-mingle --without-gossip

bench: install
	$(BIN)/python bench/one_dossier.py

clean:
	rm -rf var/broker var/test-broker* var/test-media var/test-db*.sqlite3*
