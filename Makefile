# Two commands for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock 2>/dev/null | sha256sum | cut -c1-12)

.PHONY: run test install lint bench-speed bench-quality bench-jobs training-photos

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -c requirements.lock -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) manage.py rundemo $(RUN_ARGS)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench-jobs: $(STAMP)
	$(PY) -m restoration.bench_jobs $(BENCH_ARGS)

bench-speed: $(STAMP)
	$(PY) -m restoration.bench speed $(BENCH_ARGS)

bench-quality: $(STAMP)
	$(PY) -m restoration.bench quality $(BENCH_ARGS)

# Optional: the Debian wallpaper photographs the shipped models were trained on (needs root).
training-photos:
	apt-get install -y --no-install-recommends mate-backgrounds plasma-workspace-wallpapers
