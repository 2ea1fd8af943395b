# dtool: `make demo` and `make test` are the two front doors (see README.md).
SHELL := /bin/bash
DTOOL := node dist/cli/main.js

.PHONY: all deps build engine base-image images demo lint test test-unit test-integration bench clean

all: build

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

deps: node_modules

build: node_modules
	npm run build
	@chmod +x dist/cli/main.js

# A Docker engine: started here when only the client is installed (root + apt).
engine:
	bash scripts/engine.sh

# debian:bookworm-slim: pulled, or built with debootstrap where no registry answers.
base-image: engine
	bash scripts/base-image.sh

images: build base-image
	$(DTOOL) images build

demo: images
	bash scripts/demo.sh

# Static checks: tsc, biome (lint + format check) and shellcheck over the shell scripts.
lint: node_modules
	npm run typecheck
	npm run lint

test: images
	npm test

test-unit: node_modules
	npm run test:unit

test-integration: images
	npm run test:integration

bench: images
	node bench/run.mjs
	node bench/schedule.mjs
	node bench/recipes.mjs
	node bench/dind.mjs
	node bench/sysctl.mjs

clean:
	rm -rf dist .demo
	-$(DTOOL) prune
