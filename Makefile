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

## The main job on the embedded default data.
run: deps
	$(SWIFT) run -c release OfflineToOnline

## The tests, in debug and in release (some numeric bugs only show optimised).
test: deps test-debug test-release

test-debug: deps
	$(SWIFT) test

test-release: deps
	$(SWIFT) test -c release

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

TSAN_FILTER ?= RecRLServerTests|OnlineDRRTests|BoundedMemoryTests|InProcessServerTests|DRREngineTests

## The server and online-learning tests under ThreadSanitizer (TSAN_FILTER= for all tests).
test-tsan: deps
	$(SWIFT) test --sanitize=thread --scratch-path .build-tsan $(if $(TSAN_FILTER),--filter '$(TSAN_FILTER)')

## The tests under AddressSanitizer.
test-asan: deps
	$(SWIFT) test --sanitize=address --scratch-path .build-asan

# --- Deployment artefacts (Dockerfile, deploy/) ------------------------------------------------
DEPLOY_VENV := .venv-deploy

.PHONY: validate-deploy deploy-pipeline

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
