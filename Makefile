# pixelport: `make run` starts the service locally, `make test` runs every check CI runs.
# Both install what they need into .venv (SAM CLI, which pins its own boto3 and pydantic, into .venv-sam).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
# thumbor, a peer of `make bench-peers`, needs Pillow < 13: a venv of its own.
THUMBOR_VENV := .venv-thumbor
PIP_FLAGS := --quiet --disable-pip-version-check
export SAM_CLI_TELEMETRY := 0
# sam validate wants a region; --lint runs offline whatever region this names.
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: run test lint bench bench-peers fuzz readme-examples build deploy validate profiles clean help

help:
	@echo "make run       start the whole service on 127.0.0.1:\$${PORT:-3000} (moto, gateway, processor)"
	@echo "make test      ruff, mypy, cfn-lint, sam validate --lint and every test"
	@echo "make bench     benchmarks (ratios against references measured in the same run; ROUNDS=5)"
	@echo "make bench-peers  make bench with pyvips and thumbor in the same run (installs thumbor in .venv-thumbor)"
	@echo "make fuzz      schemathesis and Pillow's test images against a local stack (FUZZ_EXAMPLES=100)"
	@echo "make readme-examples  the README's before/after pictures (docs/examples/), made by the pipeline"
	@echo "make build     sam build for the Lambda runtime (needs that Python on PATH or in pyenv)"
	@echo "make deploy    sam deploy --guided"
	@echo "make profiles  rebuild the CMYK ICC profiles with ArgyllCMS (Debian: argyll icc-profiles-free)"

$(VENV)/.run-installed: requirements/local.txt layers/core/requirements.txt layers/pillow/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) -r requirements/local.txt
	$(PY) -m pip install $(PIP_FLAGS) --no-deps -e .  # the `pixelport` command-line client
	touch $@

$(VENV)/.dev-installed: $(VENV)/.run-installed requirements/dev.txt requirements/bench.txt
	$(PY) -m pip install $(PIP_FLAGS) -r requirements/dev.txt
	touch $@

$(VENV)/.fuzz-installed: $(VENV)/.dev-installed requirements/fuzz.txt
	$(PY) -m pip install $(PIP_FLAGS) -r requirements/fuzz.txt
	touch $@

$(VENV)/.bench-installed: $(VENV)/.dev-installed requirements/bench.txt
	$(PY) -m pip install $(PIP_FLAGS) -r requirements/bench.txt
	touch $@

$(THUMBOR_VENV)/.installed: requirements/thumbor.txt
	test -x $(THUMBOR_VENV)/bin/python || $(PYTHON) -m venv $(THUMBOR_VENV)
	$(THUMBOR_VENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements/thumbor.txt
	touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements/sam.txt
	touch $@

run: $(VENV)/.run-installed
	@$(PY) -m local

test: $(VENV)/.dev-installed $(SAM_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest

lint: $(VENV)/.dev-installed $(SAM_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint

validate: $(SAM_VENV)/.installed
	$(SAM) validate --lint

# ROUNDS=N timed rounds per workload and implementation (default 5). Nothing in CI asserts a time.
bench: $(VENV)/.bench-installed
	PYTHONPATH=layers/core $(PY) -m bench $${ROUNDS:+--rounds $$ROUNDS}

bench-peers: $(VENV)/.bench-installed $(THUMBOR_VENV)/.installed
	PYTHONPATH=layers/core $(PY) -m bench --peers --thumbor $(THUMBOR_VENV)/bin/thumbor $${ROUNDS:+--rounds $$ROUNDS}

# Not part of `make test`: minutes long, and its figures go in the README (see "The contract under fire").
fuzz: $(VENV)/.fuzz-installed
	PYTHONPATH=layers/core $(PY) -m fuzz --examples $${FUZZ_EXAMPLES:-100} $${FUZZ_SEED:+--seed $$FUZZ_SEED}

readme-examples: $(VENV)/.run-installed
	PYTHONPATH=layers/core $(PY) scripts/make_readme_examples.py

build: $(SAM_VENV)/.installed
	@dir=$$(scripts/runtime-python); \
	if [ -z "$$dir" ]; then exit 1; fi; \
	PATH="$$dir:$$PATH" $(SAM) build

deploy: build
	$(SAM) deploy --guided

profiles:
	tools/profiles/build.sh

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
