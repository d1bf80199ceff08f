# Two commands for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
LOCKS := requirements.lock requirements-engine.lock requirements-test.lock
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCKS) 2>/dev/null | sha256sum | cut -c1-12)
# `make run` and `make test` need the engine (demo restorations, engine tests) and test tools.
# Web servers and default-queue workers install less: see README "Installing by machine role"
# (`make install-web` there).
CONSTRAINTS := $(foreach lock,$(LOCKS),-c $(lock))

.PHONY: run test install install-web lint check-imports bench-speed bench-quality bench-jobs bench-storage training-photos

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q $(CONSTRAINTS) -e '.[engine,test]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

# A web server or default-queue worker: no torch (about 370 MB instead of 6 GB).
install-web:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -c requirements.lock -e .

install: $(STAMP)

run: $(STAMP)
	$(PY) manage.py rundemo $(RUN_ARGS)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# Style, format and types (mypy's files are listed in pyproject.toml), and the import layering.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -p no:cacheprovider tests/test_architecture.py

# Print the import graph between packages and apps, and any cycle in it.
check-imports: $(STAMP)
	$(PY) tests/test_architecture.py

bench-jobs: $(STAMP)
	$(PY) -m restoration.bench_jobs $(BENCH_ARGS)

# Storage on a moto S3 server: peak RSS growth per process (BENCH_ARGS="--size-mb 2048"), or
# catalog/API latency under 5 slow uploads (BENCH_ARGS="--mode latency").
bench-storage: $(STAMP)
	$(PY) -m portal.bench_storage $(BENCH_ARGS)

bench-speed: $(STAMP)
	$(PY) -m restoration.bench speed $(BENCH_ARGS)

bench-quality: $(STAMP)
	$(PY) -m restoration.bench quality $(BENCH_ARGS)

# Optional: the Debian wallpaper photographs the shipped models were trained on (needs root).
training-photos:
	apt-get install -y --no-install-recommends mate-backgrounds plasma-workspace-wallpapers
