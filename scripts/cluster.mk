# The local Kubernetes cluster (medallion cluster), included by the Makefile.

##@ Local cluster (medallion cluster)

DEBIAN_PACKAGES := $(shell grep -v '^\#' scripts/debian-packages.txt)

.PHONY: system-deps
system-deps: ## Install the missing Debian packages of the cluster and image builds (apt-get, as root)
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "Debian packages present"; \
	elif [ "$$(id -u)" != 0 ]; then echo "error: missing Debian packages (run as root: apt-get install" $$missing")"; exit 1; \
	else apt-get update -qq && apt-get install -y -qq $$missing; fi

.PHONY: cluster-build
cluster-build: venv ## Build the cluster's binaries from the Go module proxy (cold: about 10 minutes)
	$(MEDALLION) cluster build

.PHONY: cluster-up
cluster-up: venv system-deps ## Start the local cluster (a no-op when it runs); `medallion cluster env` prints what a shell needs
	$(MEDALLION) cluster up

.PHONY: cluster-down
cluster-down: venv ## Stop the local cluster, remove its network namespace and mounts (keeps its data)
	$(MEDALLION) cluster down

.PHONY: cluster-status
cluster-status: venv ## The local cluster's processes
	$(MEDALLION) cluster status

.PHONY: cluster-prereqs
cluster-prereqs: system-deps cluster-build images ## What the cluster tests need: Debian packages, the cluster's binaries, the images
