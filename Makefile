# Two commands for newcomers: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint typecheck format browser-deps clean-db messages

# The virtualenv, rebuilt only when pyproject.toml changes.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# What the site needs to run (make run): no test tools, and pip shows its progress.
# After `make test` has installed everything (.installed newer than pyproject.toml),
# there is nothing more to install.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	@if [ $(VENV)/.installed -nt pyproject.toml ]; then touch $@; exit 0; fi; \
	echo "Installing what the site needs into $(VENV) (the first time takes a minute)"; \
	$(BIN)/pip install --progress-bar on -e . && touch $@

# Everything, test and type-check tools included (make test, make lint).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# axe-core for the accessibility tests, from the npm registry, pinned by package-lock.json.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium for the browser tests (`playwright install` cannot download here).
browser-deps: node_modules/axe-core/axe.min.js
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium package for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Translations: each language's .po files (locale/<language>/LC_MESSAGES, in the repo)
# compiled with gettext's msgfmt into the .mo files Django reads (git-ignored), again
# whenever a .po changes. --check refuses a translation whose placeholders differ.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))
locale/%.mo: locale/%.po
	msgfmt --check -o $@ $<

# After changing text in a template or in code: gather every translatable string into
# each language's .po files (new strings arrive untranslated; the tests fail until they
# are translated). README, "Languages".
messages: $(VENV)/.installed-run
	for domain in django djangojs; do \
	  DEBUG=true $(BIN)/python manage.py makemessages --all --domain $$domain --no-obsolete \
	    --ignore '$(VENV)/*' --ignore 'node_modules/*' --ignore 'staticfiles/*' \
	    --ignore 'tests/*' --ignore 'bench/*' --ignore 'media/*' --ignore 'var/*'; \
	done

# Development settings for every manage.py command, Celery and the web server, written
# once and never overwritten (edit it freely; it is git-ignored). Real environment
# variables win over it. Production sets real variables and never needs it.
.env:
	@printf '%s\n' \
	  '# Written by `make run`: development settings for this checkout (git-ignored).' \
	  '# Every manage.py command, Celery and the web server read it; variables set in' \
	  '# the real environment win. Production never uses it (see .env.example).' \
	  'DEBUG=true' > $@
	@echo "Wrote $@ (development settings: DEBUG=true)"

# Web server, Celery worker and Celery beat together. Ctrl-C, SIGTERM to make (make
# passes it on to this shell) or to the whole process group (what systemd does) stop
# all three within seconds, and so does the end of any one of them: the trap sends
# SIGTERM to the three and waits up to 7 s, then kills what is left (once in a while
# beat was seen ignoring its SIGTERM while shutting down after Ctrl-C's SIGINT).
# The worker uses threads, not processes, so a signal
# to the whole group leaves no pool process for its warm shutdown to wait on forever;
# being the only worker, it has no peers to meet or watch (mingle, gossip, heartbeat).
# SITE_URL (links in emails) follows PORT unless set: `make run PORT=8001`.
run: $(VENV)/.installed-run .env $(MO_FILES)
	export SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}"; \
	$(BIN)/python manage.py migrate --noinput && \
	$(BIN)/python manage.py seed_demo && \
	{ trap 'trap - INT TERM EXIT; kill $$(jobs -p) 2>/dev/null; \
	    for _ in $$(seq 70); do [ -z "$$(jobs -pr)" ] && break; sleep 0.1; done; \
	    kill -9 $$(jobs -pr) 2>/dev/null; wait' INT TERM EXIT; \
	  $(BIN)/celery -A pb_platform worker --loglevel=info --pool=threads --concurrency=2 \
	    --without-heartbeat --without-gossip --without-mingle & \
	  $(BIN)/celery -A pb_platform beat --loglevel=info & \
	  $(BIN)/python manage.py runserver 127.0.0.1:$(PORT) & \
	  wait -n; }

test: $(VENV)/.installed browser-deps $(MO_FILES) lint typecheck
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy with django-stubs on every module that holds rules (policies, services, selectors,
# rules; the list is in pyproject.toml). The settings need DEBUG or a SECRET_KEY to load.
typecheck: $(VENV)/.installed
	DEBUG=true $(BIN)/mypy

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
