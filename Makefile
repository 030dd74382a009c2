# Open Party School. `make run` sets up and serves on http://127.0.0.1:$(PORT); `make test` runs the suite.
VENV    ?= .venv
PYTHON  ?= python3
PORT    ?= 8000
WORKERS ?= 2
TEST_WORKERS ?= auto
BIN      = $(VENV)/bin
FLASK    = $(BIN)/flask --app app

.PHONY: run serve install test test-pg translations messages bench clean cluster cluster-stop

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

translations: install
	$(BIN)/pybabel compile -d translations 2>&1 | grep -v '^compiling' || true

# Extract the strings marked with _() and merge them into the English catalogue.
SOURCES = $(wildcard app.py core accounts messages courses quizzes learning reports classes search templates)

messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location -o translations/messages.pot $(SOURCES)
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

run: install translations
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	@$(FLASK) check-secret-key
	@echo "Serving on http://127.0.0.1:$(PORT)"
	$(BIN)/huey_consumer worker.huey --workers 1 --quiet & trap 'kill $$!' EXIT INT TERM; \
	$(BIN)/gunicorn --workers $(WORKERS) --bind 127.0.0.1:$(PORT) --preload --access-logfile - "app:create_app()"

# The production shape on this machine: PostgreSQL, Redis, two gunicorn servers, nginx on http://127.0.0.1:$(PORT)
# (deploy/cluster.sh; every port is a variable: make cluster PORT=8400 WEB_PORTS="8401 8402" REDIS_PORT=8403).
WEB_PORTS  ?= 8001 8002
REDIS_PORT ?= 6380
cluster: install translations
	OPS_FRONT_PORT=$(PORT) OPS_WEB_PORTS="$(WEB_PORTS)" OPS_REDIS_PORT=$(REDIS_PORT) OPS_WORKERS=$(WORKERS) deploy/cluster.sh start

cluster-stop:
	OPS_FRONT_PORT=$(PORT) OPS_WEB_PORTS="$(WEB_PORTS)" OPS_REDIS_PORT=$(REDIS_PORT) deploy/cluster.sh stop

# The compiled catalogues, rebuilt when their .po changed (several `make test` at once in CI never rewrite them
# while another one's tests read them).
MO_FILES = $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))
$(MO_FILES): %.mo: %.po | install
	$(BIN)/pybabel compile -i $< -o $@ 2>&1 | grep -v '^compiling' || true

# The suite in parallel (pytest-xdist: a process per core, each with its own database, each taking whole test
# files); TEST_WORKERS=0: one process.
test: install $(MO_FILES)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: install translations
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance/ops.sqlite3 .pytest_cache
