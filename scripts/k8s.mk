# Kubernetes targets (kind-up, deploy, trigger, e2e, kind-down), included by the Makefile.
# Tool versions and names live here, once; override any of them on the command line.

KIND ?= kind
KUBECTL ?= kubectl
DOCKER ?= docker
HELM ?= $(shell [ -x "$${MEDALLION_CACHE:-$$HOME/.cache/medallion}/bin/helm" ] && echo "$${MEDALLION_CACHE:-$$HOME/.cache/medallion}/bin/helm" || echo helm)
KIND_CLUSTER ?= medallion
K8S_NAMESPACE ?= medallion
RELEASE ?= medallion
IMAGE_TAG ?= 0.1.0
LAYER ?= bronze
# Library first, then the charts that use it, then the umbrella (each vendors the ones before).
CHARTS := common minio postgres hive-metastore trino medallion
# Images to build (empty: all of images/, in dependency order); tags follow the charts' appVersions.
IMAGES_ONLY ?=
KIND_VALUES := charts/medallion/ci/kind-values.yaml

##@ Kubernetes: charts, images, kind

.PHONY: charts-deps
charts-deps: ## Vendor the charts' file:// dependencies (helm dependency build, offline)
	@for chart in $(CHARTS); do \
	  [ "$$chart" = common ] && continue; \
	  $(HELM) dependency build --skip-refresh charts/$$chart >/dev/null; \
	done
	@echo "chart dependencies built"

.PHONY: charts-lint
charts-lint: charts-deps ## helm lint every chart (the umbrella also with its ci/ values files)
	@for chart in $(CHARTS); do $(HELM) lint --quiet charts/$$chart; done
	@for values in charts/medallion/ci/*.yaml; do $(HELM) lint --quiet charts/medallion -f $$values; done

.PHONY: k8s-tools
k8s-tools: venv ## Build the chart tools (kubeconform, helm-docs, helm-unittest, ct) from the Go module proxy into the cache
	$(MEDALLION) k8s tools

.PHONY: charts-docs
charts-docs: k8s-tools ## Copy charts/common/global-values.* into every chart, then regenerate the README values tables (helm-docs)
	$(MEDALLION) k8s charts-docs

.PHONY: test-k8s
test-k8s: k8s-tools ## Chart, policy, submitter and image tests (no cluster needed)
	$(BIN)/pytest tests/k8s $(PYTEST_ARGS)

.PHONY: base-images
base-images: venv ## Make debian:bookworm-slim and debian:trixie-slim locally with mmdebstrap (skipped when present)
	$(MEDALLION) images base

.PHONY: images
images: venv ## Build every image under images/ (buildah, or docker when IMAGE_BUILDER=docker or an engine answers)
	$(MEDALLION) images build $(IMAGES_ONLY)

.PHONY: images-archive
images-archive: venv ## Export the built images to docker-archive tars (for ctr images import)
	$(MEDALLION) images archive $(IMAGES_ONLY)

.PHONY: kind-up
kind-up: venv ## A kind cluster with the namespace and the Spark Operator (vendored CRDs, official chart from its Go module)
	@$(KIND) get clusters | grep -qx '$(KIND_CLUSTER)' \
	  || $(KIND) create cluster --name $(KIND_CLUSTER) --config manifests/kind-cluster.yaml --wait 5m
	$(KUBECTL) config use-context kind-$(KIND_CLUSTER)
	$(KUBECTL) apply -f manifests/namespace.yaml
	$(MEDALLION) k8s install-operator --values manifests/values/spark-operator.yaml

.PHONY: vendor-crds
vendor-crds: venv ## Refresh manifests/crds/spark-operator from the operator's pinned Go module (after a version change)
	$(MEDALLION) k8s vendor-crds

.PHONY: kind-load
kind-load: images ## Build the images and load them into the kind nodes
	@for archive in $$($(MEDALLION) images archive $(IMAGES_ONLY)); do \
	  $(KIND) load image-archive --name $(KIND_CLUSTER) "$$archive"; \
	done

.PHONY: deploy
deploy: charts-deps ## Install or upgrade the medallion chart (kind values) in K8S_NAMESPACE
	$(HELM) upgrade --install $(RELEASE) charts/medallion --namespace $(K8S_NAMESPACE) \
	  -f $(KIND_VALUES) \
	  --set images.dbt.tag=$(IMAGE_TAG) --set images.spark.tag=$(IMAGE_TAG) \
	  --wait --timeout 15m
	$(HELM) test $(RELEASE) --namespace $(K8S_NAMESPACE) --timeout 10m

.PHONY: trigger
trigger: ## Run one layer now and wait for it: make trigger LAYER=bronze|silver|gold|pipeline
	$(MEDALLION) k8s trigger $(LAYER) --wait --namespace $(K8S_NAMESPACE) --release $(RELEASE)

.PHONY: k8s-status
k8s-status: ## The layers' CronJobs, their last runs and recent SparkApplications
	$(MEDALLION) k8s status --namespace $(K8S_NAMESPACE) --release $(RELEASE)

.PHONY: e2e
e2e: venv system-deps images ## The pipeline on the local cluster: cluster up (reused), images, operator, chart, every layer
	$(BIN)/pytest tests/e2e -m cluster $(PYTEST_ARGS)

.PHONY: e2e-kind
e2e-kind: venv ## The kind end-to-end test (needs a Docker engine): build, load, install, run all layers
	$(BIN)/pytest tests/e2e -m e2e $(PYTEST_ARGS)

.PHONY: kind-down
kind-down: ## Delete the kind cluster
	$(KIND) delete cluster --name $(KIND_CLUSTER)
