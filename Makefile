# paybot: `make run` tries it, `make test` proves it. Both work on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lint typecheck test unit mutants run bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# The Serverless Framework v3 and its plugins, exactly as package-lock.json pins them.
# Their install scripts only print messages, so they are skipped.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

install: $(STAMP) $(NODE_STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy bot handlers emulator bench

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads
# a browser of its own). The fonts make the screenshots look as they do in docs/.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-lato fonts-noto-color-emoji

# The tests start what they use themselves: moto in server mode and the
# emulator servers, each on a free loopback port.
test: lint typecheck $(CHROMIUM)
	rm -f .coverage .coverage.*
	$(BIN)/coverage run -m pytest -q -p no:cacheprovider
	$(BIN)/coverage combine -q
	$(BIN)/coverage report
	$(BIN)/coverage report --include='bot/*' --fail-under=90 > /dev/null || { echo "bot/ is under 90% covered"; exit 1; }
	$(BIN)/coverage report --include='handlers/*' --fail-under=90 > /dev/null || { echo "handlers/ is under 90% covered"; exit 1; }

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

# Mutation testing of the modules that guard card data and money (TESTING.md); not part
# of `test`. Mutants are made in mutants/, never in the tree; the names below pick the
# event-ledger classes out of the two store modules.
MUTATED := 'bot.cards.*' 'bot.logs.*' 'bot.card_form.*' 'handlers.slack.guard.*' 'handlers.slack.lazy.*' \
	'handlers.stripe.*' 'bot.adapters.dynamodb_store.xǁDynamoEventLedgerǁ*' \
	'bot.adapters.dynamodb_store.x__event_key*' 'bot.adapters.sqlite_store.xǁSqliteEventLedgerǁ*'
mutants: $(STAMP)
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 $(MUTATED)

# The whole product on this machine: workspace UI, emulated Slack and Stripe, the bot.
run: $(STAMP)
	$(BIN)/python -m emulator $(ARGS)

# Figures for BENCHMARKS.md, each a ratio against a baseline measured in the same run.
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .paybot .coverage mutants .mypy_cache .ruff_cache .hypothesis
