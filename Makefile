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

## Formatting and clippy with warnings as errors.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Store append throughput and report query times (figures in BENCHMARKS.md).
bench:
	$(CARGO) run --release -p talo-store --example append_throughput
	$(CARGO) run --release -p talo-projections --example report_queries

## Rewrite the committed JSON Schemas and GraphQL SDL after a deliberate change.
schemas:
	UPDATE_SNAPSHOTS=1 $(CARGO) test -p talo-events-schema --test schemas
	UPDATE_SNAPSHOTS=1 $(CARGO) test -p talo-tests --test schema
