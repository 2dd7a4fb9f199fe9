# The single entry point: CI calls `make test` and nothing else.
CARGO ?= cargo
DATA ?= ./data
LISTEN ?= 127.0.0.1:8080

.PHONY: run test lint fmt bench schemas

## Build and start Talo on the embedded store with the demo organisation.
run:
	$(CARGO) run -p talo-api --bin talo -- serve --data $(DATA) --listen $(LISTEN) --demo

## Lint, then the whole test suite.
test: lint
	$(CARGO) test --workspace --no-fail-fast

## Formatting and clippy with warnings as errors; the KurrentDB backend (cargo feature
## `kurrentdb`, gRPC and TLS) is checked and linted here so it cannot rot, but not built or
## run by `make test` (its live tests need a server: see deploy/README.md).
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p talo-store -p talo-api --features kurrentdb --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Store appends, report queries, and end to end over HTTP against a `talo serve` process;
## the last appends its figures to BENCHMARKS.md. BENCH_DATA=DIR (a store from `talo generate`)
## adds storage, replay and startup on it.
BENCH_DATA ?=
bench:
	$(CARGO) run --release -p talo-store --example append_throughput
	$(CARGO) run --release -p talo-projections --example report_queries
	$(CARGO) build --release -p talo-api --bin talo
	$(CARGO) run --release -p talo-bench -- --append BENCHMARKS.md $(if $(BENCH_DATA),--data $(BENCH_DATA))

## Rewrite the committed JSON Schemas and GraphQL SDL after a deliberate change.
schemas:
	UPDATE_SNAPSHOTS=1 $(CARGO) test -p talo-events-schema --test schemas
	UPDATE_SNAPSHOTS=1 $(CARGO) test -p talo-tests --test schema
