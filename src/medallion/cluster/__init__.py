"""A real single-node Kubernetes built from the Go module proxy and Debian's packages.

``medallion cluster up`` starts etcd, the control plane, containerd and the kubelet, kube-proxy,
CoreDNS and the NetworkPolicy agent as host processes inside a network namespace of the cluster's
own, so that pod and Service addresses never appear on the host's interfaces.
"""
