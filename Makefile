# One command each: `make dev` runs the whole stack locally, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12 2>/dev/null) python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: venv dev web web-build web-lint web-test web-e2e test unit chaos lint typecheck openapi events invoke rotate migrate synth cfn-lint bench bench-readme clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

## The whole stack on http://127.0.0.1:8000 (SQLite, fakeredis, moto, simulated market), the web
## app at / (built first when its sources changed).
dev: venv web-build
	$(PY) -m devstack.dev

## The web app (web/): Node 20 and npm only; nothing downloads a browser.
WEB_DEPS := web/node_modules/.package-lock.json
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
	web/vite.config.ts web/tsconfig.json web/package.json
NPM := cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm
CHROMIUM ?= /usr/bin/chromium

$(WEB_DEPS): web/package-lock.json
	$(NPM) ci --no-audit --no-fund --loglevel=error

web/dist/index.html: $(WEB_DEPS) $(WEB_SOURCES)
	$(NPM) run --silent build

web-build: web/dist/index.html

## Vite's dev server on http://127.0.0.1:5173 with hot reload, /api proxied to `make dev`.
web: $(WEB_DEPS)
	$(NPM) run dev

## ESLint, tsc --noEmit, and the generated client matches openapi.json.
web-lint: $(WEB_DEPS)
	$(NPM) run --silent lint
	$(NPM) run --silent api:check

## Vitest: the ticket's filter maths, decimal formatting, error mapping.
web-test: $(WEB_DEPS)
	$(NPM) run --silent test

## Playwright with Debian's Chromium against a fresh local stack (tests/e2e/test_web_app.py).
web-e2e: venv web-build
	$(PY) -m pytest -q tests/e2e/test_web_app.py

## Lint, type-check, then every test tier (the web app's unit tests and its end-to-end run too).
test: venv lint typecheck web-test web-build
	$(PY) -m pytest -q -n 2 --dist loadfile tests

unit: venv
	$(PY) -m pytest -q tests/unit

## Failing dependencies and load (tests/chaos, docs/chaos.md; minutes, not part of `make test`):
## throwaway PostgreSQL and redis-server per test, the Binance fake, moto's SQS, then the local
## stack under load. CHAOS_LOAD_DURATION_S=60 CHAOS_LOAD_CLIENTS=50 CHAOS_LOAD_USERS=20
chaos: venv
	$(PY) -m pytest -q -m chaos tests/chaos

## Ruff; bandit over our code; pip-audit over the layer's runtime pins (report-only offline).
lint: venv web-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/bandit -c pyproject.toml -q -r layers/shared/python/tradebot functions
	$(PY) -m devstack.audit

## mypy --strict over all our Python. A cold cache takes about 1.5 min (most of it aws-cdk-lib's
## types); a warm one a few seconds.
typecheck: venv
	$(VENV)/bin/mypy layers/shared/python/tradebot functions devstack cdk bench loadtest tests

## Regenerate openapi.json from the route table (a test checks it is current).
openapi: venv $(WEB_DEPS)
	$(PY) -m devstack.openapi > openapi.json
	$(NPM) run --silent api

## Regenerate events/ (each function's sample event) from the route table (a test checks it).
events: venv
	$(PY) -m devstack.events

## Run one function in-process: make invoke FN=notes_create EVENT=events/notes_create.json
invoke: venv
	$(PY) -m devstack.invoke $(FN) $(EVENT)

## Apply database migrations to DATABASE_URL (SQLite by default).
migrate: venv
	$(PY) -m tradebot.db.migrate

## Re-encrypt every stored API secret with the newest Fernet key.
rotate: venv
	$(PY) -m tradebot.crypto.rotate

## CloudFormation templates into cdk.out/, offline: no AWS account, no Docker, no CDK CLI.
## Builds the layer for Lambda (pip wheels, cached in build/) and runs the cdk-nag checks.
## Override context like the CLI does: make synth CDK_CONTEXT_JSON='{"multiAz": true}'
synth: venv web-build
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_OUTDIR=cdk.out $(PY) cdk/app.py
	@ls cdk.out/*.template.json

## Lint the synthesized templates with cfn-lint (tests/infra also does, on a synth without layer).
cfn-lint: synth
	$(VENV)/bin/cfn-lint --config-file cdk/cfn-lint.yaml

## Speed and cost: cold starts, warm latency, scaling, workers, load, memory, cost, the web app's weight and first load (< 15 min).
## Real PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set (throwaway database and keys,
## removed after), else SQLite and fakeredis. Prints the table, writes bench/results.json (not
## committed) and merges the figures into bench/summary.json (committed).
## Never part of `make test`. BENCH_ARGS=--quick for a short trial run.
bench: venv
	$(PY) -m bench $(BENCH_ARGS)

## README.md's Performance table, rewritten from bench/summary.json's rows.
bench-readme: venv
	$(PY) -m bench.readme

clean:
	rm -rf $(VENV) .data cdk.out build .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist
