# RecRL: the two set-up commands are `make run` and `make test` (see README.md).
SWIFT ?= swift
APT_PACKAGES := libopenblas-dev liblapacke-dev pkg-config
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: run test test-debug test-release deps build release info clean format lint fuzz fuzz-smoke test-tsan test-asan

## Installs the C libraries with apt when pkg-config cannot find them.
deps:
	@if ! (command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openblas lapacke); then \
		echo "installing $(APT_PACKAGES) with apt"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES); \
	fi

## The main job on the embedded default data (RUN_ARGS="--treatment lird" serves LIRD as the treatment arm;
## ARMS_LONG=1 runs the multi-arm comparison of its last step for 100 rounds over 5 seeds).
RUN_ARGS ?=
ARMS_LONG ?=
run: deps
	$(SWIFT) run -c release OfflineToOnline $(if $(ARMS_LONG),--arms-long) $(RUN_ARGS)

## The tests, in debug and in release (some numeric bugs only show optimised).
test: deps test-debug test-release

# Scripts/pg-cluster.sh runs each with a throw-away PostgreSQL cluster (RECRL_TEST_POSTGRES_URL)
# for the tests of the scaled-out shape; it installs Debian's postgresql when missing.
test-debug: deps
	Scripts/pg-cluster.sh run -- $(SWIFT) test

test-release: deps
	Scripts/pg-cluster.sh run -- $(SWIFT) test -c release

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

info: deps
	$(SWIFT) run -c release recrl info

clean:
	rm -rf .build

FORMAT_PATHS := Package.swift Sources Tests Examples Benchmarks/Package.swift Benchmarks/Benchmarks

## Applies .swift-format to the tree (swift-format ships with the Swift 6 toolchain).
format:
	$(SWIFT) format format --in-place --recursive --parallel $(FORMAT_PATHS)

## Fails when a file is not formatted as .swift-format says (CI runs it).
lint:
	$(SWIFT) format lint --strict --recursive --parallel $(FORMAT_PATHS)

FUZZ_SECONDS ?= 60

## Runs every libFuzzer target in Fuzz/ for FUZZ_SECONDS each (address sanitizer on).
fuzz: deps
	Scripts/fuzz.sh $(FUZZ_SECONDS)

## A short smoke run of every fuzz target (CI).
fuzz-smoke: deps
	FUZZ_RUNS=20000 Scripts/fuzz.sh 60

TSAN_FILTER ?= RecRLServerTests|OnlineDRRTests|OnlineLIRDTests|BoundedMemoryTests

# The sanitizers slow the tests several times: their waits for background work (database,
# learner, child processes) are this many times longer (RECRL_TEST_TIME_SCALE, see
# Tests/RecRLServerTests/TestSupport.swift). Allocation-counting tests skip in these builds.
TSAN_TIME_SCALE ?= 5
ASAN_TIME_SCALE ?= 3

## The server and online-learning tests under ThreadSanitizer (TSAN_FILTER= for all tests), in
## their own scratch path, with a throw-away PostgreSQL cluster as in make test. CI runs it.
test-tsan: deps
	RECRL_TEST_TIME_SCALE=$(TSAN_TIME_SCALE) Scripts/pg-cluster.sh run -- $(SWIFT) test --sanitize=thread --scratch-path .build-tsan $(if $(TSAN_FILTER),--filter '$(TSAN_FILTER)')

ASAN_FILTER ?=

## The tests under AddressSanitizer (ASAN_FILTER='$(TSAN_FILTER)' for the classes test-tsan runs);
## leaks inside the toolchain's libraries and test frameworks are suppressed (Scripts/lsan-suppressions.txt).
test-asan: deps
	RECRL_TEST_TIME_SCALE=$(ASAN_TIME_SCALE) LSAN_OPTIONS=suppressions=$(CURDIR)/Scripts/lsan-suppressions.txt \
		Scripts/pg-cluster.sh run -- $(SWIFT) test --sanitize=address --scratch-path .build-asan $(if $(ASAN_FILTER),--filter '$(ASAN_FILTER)')

# --- Deployment artefacts (Dockerfile, deploy/) ------------------------------------------------
DEPLOY_VENV := .venv-deploy

.PHONY: validate-deploy deploy-pipeline pipeline

$(DEPLOY_VENV)/.installed: deploy/requirements.txt
	python3 -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install --quiet --disable-pip-version-check -r deploy/requirements.txt
	touch $@

## Offline checks of the container image and deploy/ (no cluster, no Docker daemon): hadolint,
## kustomize renders, schemas, consistency, the KFP pipeline recompiles to the committed YAML,
## and the runtime libraries of a built recrl (RECRL_BINARY=...). See deploy/validate.py.
validate-deploy: $(DEPLOY_VENV)/.installed
	$(DEPLOY_VENV)/bin/python deploy/validate.py

## Recompiles deploy/kubeflow/pipeline.yaml after a change to deploy/kubeflow/pipeline.py.
deploy-pipeline: $(DEPLOY_VENV)/.installed
	$(DEPLOY_VENV)/bin/python deploy/kubeflow/pipeline.py

PIPELINE_WORK ?= .pipeline
PIPELINE_ARGS ?=
# The release gate of the local loop. It tolerates 20% below itemknn because on the embedded
# synthetic data, split at one global time, DRR-ave does not beat itemknn or popularity; the
# Kubeflow pipeline and `recrl pipeline run` default to 'ndcg@10 >= 1.0 * itemknn'.
PIPELINE_GATE ?= ndcg@10 >= 0.8 * itemknn

## The production loop locally, no cluster: ingest -> split -> train -> evaluate + gate ->
## register -> promote on the embedded synthetic data (PIPELINE_ARGS="--data DIR" for a data
## set, "--tune" to tune first). Leaves a promoted model in $(PIPELINE_WORK)/registry; serve it
## with: .build/release/recrl serve --registry $(PIPELINE_WORK)/registry --stage production
pipeline: deps
	$(SWIFT) build -c release --product recrl
	.build/release/recrl pipeline run --local --work $(PIPELINE_WORK) --gate '$(PIPELINE_GATE)' $(PIPELINE_ARGS)
