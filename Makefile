# The two commands the README leads with: `make run` and `make test`.
# Everything they need is installed under the repo (.venv/ for Python tools); servers they need
# are started on free loopback ports and stopped afterwards.

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run test build test-rust infra-check package emulators bench

## A real sync run on this machine: embedded store + seeded Google and Zoho emulators, then the status.
run:
	$(CARGO) run -q -p sync-tests --bin local-run

## The whole test suite (Rust unit, contract and integration tests against moto_server and the
## emulators; then the infrastructure checks).
test: test-rust infra-check

build:
	$(CARGO) build --workspace --bins --tests

test-rust: build
	scripts/browser-deps.sh
	scripts/with-moto.sh $(CARGO) test --workspace --no-fail-fast
	.venv/moto/bin/python tests/moto/check_partition_query.py

## Static checks of infra/ (terraform fmt, python-hcl2 parse, checkov, infra-vs-code consistency).
infra-check:
	scripts/infra-check.sh

## Lambda zips for provided.al2023 under target/lambda/<function>/bootstrap.zip.
package:
	scripts/package.sh

## Both emulators on loopback (GOOGLE_EMULATOR_PORT, default 8071; ZOHO_EMULATOR_PORT, default 8072), until stopped.
emulators:
	$(CARGO) run -q -p sync-tests --bin emulators -- --seed

## Benchmarks against the emulators and moto_server; writes target/bench/report.md.
bench:
	$(CARGO) build -q --release -p sync-tick -p oauth-callback -p sync-status
	MOTO_PARTITION_QUERY=1 scripts/with-moto.sh $(CARGO) run -q --release -p sync-tests --bin bench -- $(BENCH_ARGS)
