# Open Party School. `make run` sets up and serves on http://127.0.0.1:$(PORT); `make test` runs the suite.
VENV    ?= .venv
PYTHON  ?= python3
PORT    ?= 8000
WORKERS ?= 2
TEST_WORKERS ?= auto
BIN      = $(VENV)/bin
FLASK    = $(BIN)/flask --app app

.PHONY: run serve install test test-pg translations messages bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

translations: install
	$(BIN)/pybabel compile -d translations 2>&1 | grep -v '^compiling' || true

# Extract the strings marked with _() and merge them into the English catalogue.
SOURCES = $(wildcard app.py core accounts courses quizzes learning search templates)

messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location -o translations/messages.pot $(SOURCES)
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

run: install translations
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	@echo "Serving on http://127.0.0.1:$(PORT)"
	$(BIN)/gunicorn --workers $(WORKERS) --bind 127.0.0.1:$(PORT) --preload --timeout 300 --access-logfile - "app:create_app()"

# The suite in parallel (pytest-xdist: a process per core, each with its own database, each taking whole test
# files); TEST_WORKERS=0: one process.
test: install translations
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: install translations
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance/ops.sqlite3 .pytest_cache
