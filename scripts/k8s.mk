# Kubernetes targets (kind-up, deploy, trigger, e2e, kind-down), included by the Makefile.
