# The two commands of the README:
#   make demo   a local Airflow (127.0.0.1:8080, admin/admin) running the example DAGs twice, traced into
#               the embedded SQLite store; prints their lineage, then serves the UI (Ctrl-C stops it)
#   make test   install everything (venv, Python packages, Chromium) and run the whole test suite
# Both start from a fresh clone with only Python 3.10+ and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Reinstall when the dependencies change, not on every run.
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO   := .demo

.PHONY: install chromium demo demo-plain test test-fast lint docs docs-gen bench bench-airflow clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[postgres,airflow,test,docs]'
	# The build leaves an egg-info beside the sources; with the repo on sys.path, Airflow would see the
	# entry points twice (the installed dist-info has them) and register the plugin twice.
	rm -rf *.egg-info
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# The browser tests drive Debian's Chromium and ChromeDriver (never a downloaded browser).
chromium:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "chromium/chromedriver missing and cannot install them (not root with apt): browser tests will skip"; fi

demo: install
	rm -rf $(DEMO)
	$(BIN)/python scripts/demo.py --home $(DEMO)

# The same pipeline in plain Python, without Airflow (mltrace_core's API only).
demo-plain: install
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	cd $(DEMO) && MLTRACE_HOME=$(CURDIR)/$(DEMO) ../$(BIN)/python ../dags/plain_python_pipeline.py data
	cd $(DEMO) && MLTRACE_HOME=$(CURDIR)/$(DEMO) ../$(BIN)/python ../dags/plain_python_pipeline.py data
	cd $(DEMO) && MLTRACE_HOME=$(CURDIR)/$(DEMO) ../$(BIN)/mltrace recent --limit 6
	cd $(DEMO) && MLTRACE_HOME=$(CURDIR)/$(DEMO) ../$(BIN)/mltrace trace data/predictions/churn_scores.csv

# The whole suite, as CI runs it, each test once: the linters, the manual in strict mode, every test that
# starts no process of its own (SQLite and PostgreSQL: each xdist worker has its own databases) in random
# order on both cores (it must not depend on the order tests run in), then everything else (Airflow,
# servers, the browser) in file order, so its slow servers start predictably. Property tests draw the
# same examples on every run (HYPOTHESIS_PROFILE=ci, tests/conftest.py): what CI finds, a clone finds.
FAST := -m "not slow and not airflow and not postgres" -p randomly -n 2 -q
test: install chromium lint docs
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -m "not slow and not airflow" -p randomly -n 2 -q
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -m "slow or airflow"

# The inner loop: core and web app on SQLite, no Airflow processes, in random order; about a minute.
test-fast: install
	$(BIN)/pytest $(FAST) -x

# mypy: --strict on the core; mltrace_airflow with mypy's defaults (Airflow's own types are partial).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict mltrace_core
	$(BIN)/mypy mltrace_airflow

# The manual (docs/, mkdocs.yml) as a static site in site/, offline: a warning (a broken link, a page
# missing from the nav) fails the build. Not --quiet: mkdocs 1.6 then stops counting the warnings that
# strict mode fails on. NO_MKDOCS_2_WARNING silences Material's banner about its own future.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Regenerate the pages made from the code (docs/cli.md from the CLI's --help, docs/configuration.md from
# the [mltrace] options and the core's environment variables); tests/docs fails when they drift.
docs-gen: install
	$(BIN)/python scripts/gen_docs.py

bench: install
	$(BIN)/python bench/core_bench.py

bench-airflow: install
	$(BIN)/python bench/airflow_overhead.py

clean:
	rm -rf $(VENV) $(DEMO) site .pytest_cache .ruff_cache *.egg-info
