# dtool: `make demo` and `make test` are the two front doors (see README.md).
SHELL := /bin/bash
DTOOL := node dist/cli/main.js

.PHONY: all deps build engine base-image images remote-engine-up remote-engine-down demo lint test test-unit test-integration bench clean

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

# A TLS-protected remote engine (dtool/dind on 127.0.0.1:23760) for tests and demos;
# `bash scripts/remote-engine.sh env` prints the variables that reach it.
remote-engine-up: images
	bash scripts/remote-engine.sh up

remote-engine-down:
	bash scripts/remote-engine.sh down

# A local 3-node Docker Swarm (dtool/dind containers dtool-swarm-manager, -worker1, -worker2);
# `bash scripts/swarm.sh env` prints the DOCKER_HOST of its manager. See README.md.
.PHONY: swarm-up swarm-down
swarm-up: images
	bash scripts/swarm.sh up

swarm-down:
	bash scripts/swarm.sh down

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

# bench/swarm.mjs needs the local 3-node swarm (make swarm-up).
bench: images
	node bench/run.mjs
	node bench/schedule.mjs
	node bench/recipes.mjs
	node bench/dind.mjs
	node bench/sysctl.mjs
	node bench/remote.mjs
	node bench/swarm.mjs

clean:
	rm -rf dist .demo
	-$(DTOOL) prune
