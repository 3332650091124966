# rectiflow — two commands on a fresh machine: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export RECTIFLOW_CLOCK ?= virtual

.PHONY: run test install assets db demo serve test-postgres test-browser bench lint messages clean

run: install assets db demo serve

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "需要 Python 3.11 / Python 3.11 is required"; exit 1; }
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Front-end libraries come from the npm registry (package-lock.json), never from a CDN.
assets: package-lock.json
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then \
		npm ci --no-audit --no-fund --ignore-scripts; fi
	$(PY) scripts/vendor_assets.py

db: install
	$(BIN)/rectiflow db upgrade
	$(BIN)/rectiflow deploy --note "make run"

demo: db
	$(BIN)/rectiflow demo

serve: install
	$(BIN)/rectiflow serve --host 127.0.0.1 --port 5000

test: install assets
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench runtime

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/dead_code.py
	$(BIN)/deptry .

# The one catalogue (rectiflow/translations): extract the core's N_() ids and the web app's _()/_l(),
# merge into the Chinese catalogue, translate the new entries, then run this again to compile.
messages: install
	$(BIN)/pybabel extract -F webapp/babel.cfg -k N_ -k _l -o rectiflow/translations/messages.pot rectiflow webapp notifications
	$(BIN)/pybabel update -i rectiflow/translations/messages.pot -d rectiflow/translations -l zh_Hans_CN --no-fuzzy-matching
	$(BIN)/pybabel compile -d rectiflow/translations

clean:
	rm -rf $(VENV) node_modules webapp/static/vendor instance
