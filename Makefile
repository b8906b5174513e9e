# The operator's verbs from the manuals (shared/seeds 000 and 001), each a thin
# call to the rayvault CLI or an npm script. Same environment as the services.
# Extra CLI flags go in ARGS, e.g. `make orphans ARGS=--json`.

RAYVAULT ?= npx --no-install rayvault
STATE_DIR ?= $(or $(RAYVAULT_STATE_DIR),./state)
ARGS ?=

need = $(if $($(1)),,$(error $(1) is required: $(2)))
confirm = $(if $(filter YES,$(CONFIRM)),--confirm)

.DEFAULT_GOAL := help
.PHONY: help start test worker stop doctor status preflight migrate replay-spool baptism baptism-full \
	timeline report check-contract orphans clean clean-hard clean-zombies clean-zombies-delete maintenance

help: ## list the verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 24

start: ## the whole stack on this machine (Ctrl-C stops it)
	npm start

test: ## every test, against real Redis and Postgres started by the harness
	npm test

worker: ## all stage consumers in one process: make worker WID=Mac-Ray-01 [ONCE=1]
	$(call need,WID,make worker WID=Mac-Ray-01)
	$(RAYVAULT) worker --worker-id $(WID) $(if $(ONCE),--once) $(ARGS)

stop: ## SIGTERM (graceful stop) to the workers of this machine's state/pids; WID=… for one
	@found=0; for f in "$(STATE_DIR)"/pids/$(or $(WID),*).pid; do \
	  [ -f "$$f" ] || continue; found=1; id=$$(basename "$$f" .pid); pid=$$(cat "$$f"); \
	  if ps -p "$$pid" -o command= 2>/dev/null | grep -Eq 'rayvault|-worker'; then echo "stopping $$id (pid $$pid)"; kill -TERM "$$pid"; \
	  else echo "$$id: pid $$pid is not running (stale pid file: make clean)"; fi; \
	done; [ $$found = 1 ] || echo "no worker pid files in $(STATE_DIR)/pids"

doctor: ## morning routine: replay spooled writes, then the health verdict
	-$(RAYVAULT) replay-spool
	$(RAYVAULT) doctor --health $(ARGS)

status: ## quick status: queues and workers, recent runs, index check (missing files)
	$(RAYVAULT) queues
	$(RAYVAULT) runs --limit 10
	$(RAYVAULT) index refresh --dry-run $(ARGS)

preflight: ## before a first run: baptism level A (infra, migrations, index, skip, orphans)
	$(RAYVAULT) baptism $(ARGS)

migrate: ## apply pending database migrations
	$(RAYVAULT) migrate $(ARGS)

replay-spool: ## replay writes spooled while the database was away
	$(RAYVAULT) replay-spool $(ARGS)

baptism: ## level A, no worker: infra, migrations, index, skip, orphans (report in state/baptism/)
	$(RAYVAULT) baptism $(ARGS)

baptism-full: ## level B after kill tests: make baptism-full CONFIRM=YES
	$(RAYVAULT) baptism --full $(confirm) $(ARGS)

timeline: ## timeline CSV for the editor: make timeline ID=<run>
	$(call need,ID,make timeline ID=<run id>)
	$(RAYVAULT) timeline $(ID) $(ARGS)

report: ## credits, cost (USD/BRL), quality, stage timings: make report ID=<run>
	$(call need,ID,make report ID=<run id>)
	$(RAYVAULT) report $(ID) $(ARGS)

check-contract: ## ffprobe every segment against its target: make check-contract ID=<run>
	$(call need,ID,make check-contract ID=<run id>)
	$(RAYVAULT) check-contract $(ID) $(ARGS)

orphans: ## files in state/final that the video index does not name
	$(RAYVAULT) orphans $(ARGS)

clean: ## safe: staging/temp leftovers, stale pid files, empty dirs (never final files)
	$(RAYVAULT) clean $(ARGS)

clean-hard: ## aggressive: also the caches (careful)
	$(RAYVAULT) clean --hard $(ARGS)

clean-zombies: ## quarantine orphans older than 6 h (state/quarantine/)
	$(RAYVAULT) clean --zombies $(ARGS)

clean-zombies-delete: ## delete orphans older than 48 h (dangerous): make clean-zombies-delete CONFIRM=YES
	$(RAYVAULT) clean --zombies --delete $(confirm) $(ARGS)

maintenance: ## safe: index refresh + dry-run cleanup + report
	$(RAYVAULT) maintenance $(ARGS)
