# Steward's make targets. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
FUNCTIONS := $(notdir $(wildcard functions/*))
LDFLAGS   := -s -w -X github.com/stewardhq/steward/pkg/version.Version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0
TEMPL     := github.com/a-h/templ/cmd/templ@v0.3.960
# The Go client's generator (pkg/client/oapi-codegen.yaml configures it).
OAPI_CODEGEN := github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2
# The TypeScript client: its npm packages (openapi-typescript, openapi-fetch,
# typescript, standardwebhooks), pinned in its package-lock.json, install
# on first use; npm writes node_modules/.package-lock.json at each install.
TS_CLIENT := clients/typescript
TS_DEPS   := $(TS_CLIENT)/node_modules/.package-lock.json
# The AWS CDK CLI, pinned in infra/cdk/_cli (the underscore keeps the go
# tool out of the npm package's Go templates).
CDK       := infra/cdk/_cli/node_modules/.bin/cdk
CDK_FLAGS := --no-notices --no-version-reporting
STAGE     ?= dev
COLDSTART_N ?= 30
CDK_ARGS  ?=
FUZZTIME  ?= 30s
FN        ?= health
EVENT     ?= events/$(FN).json
# make scale: the preset (full or small) and knobs overriding its sizes.
SCALE     ?= full
SCALE_KNOBS := MEMBERS STORES ROLES DOCUMENTS DECIDED SMALL_ACCOUNTS MEMBERSHIPS ROLE_HOLDERS APPROVERS CHECKS INVITATIONS
SCALE_FLAGS = $(foreach k,$(SCALE_KNOBS),$(if $(SCALE_$(k)),-$(subst _,-,$(shell echo $(k) | tr A-Z a-z)) $(SCALE_$(k)))) $(if $(filter 1,$(SCALE_STRICT)),-strict,)

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-9s\033[0m %s\n", $$1, $$2}'

.PHONY: run
run: ## Start the local stack (DynamoDB Local, SES emulator, API on 127.0.0.1); Ctrl-C stops it.
	@$(GO) build -o bin/devstack ./infra/devstack
	@# exec: the supervisor replaces the shell, so a signal to make reaches it
	@# (it also stops when its parent dies).
	exec bin/devstack

.PHONY: test
test: chromium test-ts ## Run every test against the emulators (installed on first use), and the TypeScript client's.
	$(GO) build -o bin/testreport ./infra/testreport
	@# -timeout: the whole-API package (infra/testkit/apitest) runs 6 to 10
	@# minutes on two cores, past go test's default 10-minute limit when
	@# the machine is busy.
	$(GO) run ./infra/testrun -- bash -c "set -o pipefail; $(GO) test -count=1 -json -timeout 45m ./... | bin/testreport"
	@# Every fuzz target briefly, beyond its committed seeds (which the run
	@# above executes): a fixed execution count per target, never a duration
	@# (infra/fuzz/run.sh says why).
	@bash infra/fuzz/run.sh brief

.PHONY: test-ts
test-ts: $(TS_DEPS) ## Type-check the TypeScript client (tsc, strict) and run its node tests (npm ci on first use).
	npm --prefix $(TS_CLIENT) --silent test

$(TS_DEPS): $(TS_CLIENT)/package.json $(TS_CLIENT)/package-lock.json
	npm ci --prefix $(TS_CLIENT) --no-audit --no-fund
	@touch $@

.PHONY: chromium
chromium: ## Find a Chrome or Chromium for the browser test as chromedp does; on Debian/Ubuntu as root or with sudo, install chromium when there is none.
	@# The names and paths chromedp tries (infra/emulator.FindBrowser), or $$STEWARD_BROWSER.
	@if [ -n "$${STEWARD_BROWSER:-}" ]; then exit 0; fi; \
	for b in headless_shell headless-shell chromium chromium-browser google-chrome google-chrome-stable google-chrome-beta google-chrome-unstable chrome \
		/usr/bin/google-chrome /usr/local/bin/chrome /snap/bin/chromium \
		"/Applications/Chromium.app/Contents/MacOS/Chromium" "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"; do \
		command -v "$$b" >/dev/null 2>&1 && exit 0; \
	done; \
	if [ "$$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then sudo=sudo; else sudo=none; fi; \
	if [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1 && [ "$$sudo" != none ]; then \
		pkg=chromium; if grep -qi '^ID=ubuntu' /etc/os-release 2>/dev/null; then pkg=chromium-browser; fi; \
		echo "installing $$pkg with apt-get for the browser test (first run only, about 2 minutes)..."; \
		sudo="$$sudo env DEBIAN_FRONTEND=noninteractive"; \
		$$sudo dpkg --configure -a >/dev/null 2>&1 || true; \
		$$sudo apt-get update -qq && $$sudo apt-get install -y -qq --fix-broken $$pkg >/dev/null; \
	else \
		echo "make test: no Chrome or Chromium found; the browser test (infra/testkit/apitest) will fail until one is installed."; \
		echo "  Install Google Chrome or Chromium (macOS: the Google Chrome app or 'brew install --cask chromium';"; \
		echo "  Fedora: 'dnf install chromium'; Arch: 'pacman -S chromium'; Debian/Ubuntu: 'apt-get install chromium' as root),"; \
		echo "  or set STEWARD_BROWSER=/path/to/chrome."; \
	fi

.PHONY: bench
bench: ## Run the Go benchmarks and the bounded loopback load run.
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...
	@# Webhook latency through the local events pipeline: 200 changes, from
	@# each change's answer to its delivery on 127.0.0.1 (p50, p99, max).
	$(GO) test -run '^$$' -bench WebhookLatency -benchtime 1x ./infra/testkit/apitest/
	@# Loopback load run: own emulators and API server child on 127.0.0.1,
	@# workload A (checks) 20 s, workload B (mixed) 20 s, or 60 s with BENCH_FULL=1.
	$(GO) run ./infra/loadgen

.PHONY: scale
scale: ## Seed one large tenant on loopback emulators and measure each flow (pass/fail, wall time, DynamoDB units), about 15 min: SCALE=small (1 min) for a quick check; SCALE_MEMBERS=... to resize; SCALE_STRICT=1 exits 1 on a failed flow.
	@# Own DynamoDB Local (in memory) and SES emulator on 127.0.0.1, the API
	@# in process; infra/scale says what each flow measures and its criterion.
	$(GO) run ./infra/scale -preset $(SCALE) $(SCALE_FLAGS)

.PHONY: build
build: ## Build every function to bin/<fn>/bootstrap for linux/arm64.
	@for fn in $(FUNCTIONS); do \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath \
			-ldflags '$(LDFLAGS)' -o bin/$$fn/bootstrap ./functions/$$fn; \
		printf '  %-10s %s bytes\n' $$fn $$(stat -c %s bin/$$fn/bootstrap); \
	done

.PHONY: synth
synth: build ## Synthesize the CDK app to cdk.out (offline).
	$(GO) run ./infra/cdk
	@ls cdk.out/*.template.json

$(CDK): infra/cdk/_cli/package.json infra/cdk/_cli/package-lock.json
	npm ci --prefix infra/cdk/_cli --no-audit --no-fund
	@touch $@

.PHONY: aws-check
aws-check: ## Check AWS credentials and region (deploy, diff and destroy run it first).
	@$(GO) run ./infra/cdk/awscheck

.PHONY: diff
diff: aws-check build $(CDK) ## Show what make deploy would change: make diff STAGE=prod
	$(CDK) diff $(CDK_FLAGS) -c stage=$(STAGE) $(CDK_ARGS) Steward-$(STAGE)

.PHONY: deploy
deploy: aws-check build $(CDK) ## Deploy the stack Steward-<STAGE>: make deploy STAGE=prod [CDK_ARGS="-c alarmEmail=ops@example.com"]
	$(CDK) deploy $(CDK_FLAGS) -c stage=$(STAGE) $(CDK_ARGS) Steward-$(STAGE)

.PHONY: destroy
destroy: aws-check build $(CDK) ## Delete the stack (the table, its logs and the signing-key secret are kept).
	$(CDK) destroy $(CDK_FLAGS) -c stage=$(STAGE) $(CDK_ARGS) Steward-$(STAGE)

.PHONY: generate
generate: clients ## Regenerate the HTML components (pkg/**/*_templ.go) from their .templ files, and the typed clients.
	@# -path pkg: the generated files name their sources relative to it.
	$(GO) run $(TEMPL) generate -path pkg

.PHONY: clients
clients: $(TS_DEPS) ## Regenerate the typed clients from pkg/openapi/openapi.json: pkg/client/client.gen.go and clients/typescript/src/schema.d.ts.
	$(GO) run $(OAPI_CODEGEN) -config pkg/client/oapi-codegen.yaml pkg/openapi/openapi.json
	npm --prefix $(TS_CLIENT) --silent run generate

.PHONY: coldstart
coldstart: ## Each function's arm64 bootstrap size and local cold start (median of COLDSTART_N=30); ONLY=<fn> for one.
	$(GO) run ./infra/testrun -- $(GO) run ./infra/coldstart -n $(COLDSTART_N) $(if $(ONLY),-fn $(ONLY),)

.PHONY: lint
lint: $(TS_DEPS) ## gofmt, go vet, staticcheck, generated files up to date, and govulncheck.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@$(GO) run $(TEMPL) generate -path pkg >/dev/null 2>&1 && git diff --exit-code --stat -- '*_templ.go' || { echo "the *_templ.go files are out of date: run make generate"; exit 1; }
	@$(MAKE) --no-print-directory clients >/dev/null 2>&1 && git diff --exit-code --stat -- pkg/client/client.gen.go $(TS_CLIENT)/src/schema.d.ts || { echo "the typed clients are out of date (or their generation failed: run it to see): run make generate"; exit 1; }
	@if $(GO) run $(GOVULNCHECK) ./... 2>.artifacts-vuln.log; then rm -f .artifacts-vuln.log; \
	elif grep -qiE 'fetching vulnerabilities|dial tcp|no such host|connection refused|i/o timeout|TLS handshake' .artifacts-vuln.log; then \
		echo "govulncheck: the vulnerability database (vuln.go.dev) is out of reach from this machine; not checked."; rm -f .artifacts-vuln.log; \
	else cat .artifacts-vuln.log; rm -f .artifacts-vuln.log; exit 1; fi

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 30s); make test runs each for a fixed execution count.
	@bash infra/fuzz/run.sh $(FUZZTIME)

.PHONY: invoke
invoke: ## Run one function on a sample event against the running local stack: make invoke FN=health EVENT=events/health.json
	$(GO) run ./infra/invoke -fn $(FN) -event $(EVENT)

.PHONY: maintenance
maintenance: ## One maintenance run against the table the STEWARD_* environment names: resume role deletions left half-done, then the once-per-deployment migration (approval index backfill, deleted members moved); ARGS="-every 1h" to repeat hourly.
	$(GO) run ./infra/maintenance/run $(ARGS)

.PHONY: clean
clean: ## Remove build output (keeps the local data folder).
	rm -rf bin cdk.out .artifacts $(TS_CLIENT)/build

.PHONY: keys
keys: ## Write (or with ROTATE=1 rotate) the token keys in AWS: make keys SECRET=<SigningKeysSecret> VERIFY_SECRET=<VerifyKeysSecret>
	$(GO) run ./infra/keys -secret '$(SECRET)' -verify-secret '$(VERIFY_SECRET)' $(if $(ROTATE),-rotate,)
