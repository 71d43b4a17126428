//go:build tools

// Package tools pins the Kubernetes commands that medallion's local cluster builds. The go.mod
// beside it is generated at build time (medallion.cluster.build): it requires k8s.io/kubernetes
// at the version in src/medallion/versions.toml and replaces each staging module upstream's go.mod
// points at ./staging with its published v0.MINOR.PATCH release.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
