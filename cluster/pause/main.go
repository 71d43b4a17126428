// Command pause is the sandbox ("pause") container of medallion's local cluster: it holds a pod's
// namespaces open, reaps the orphans that end up as its children, and exits on SIGINT or SIGTERM.
// It is built into the image the cluster's containerd names as its sandbox_image, so the cluster
// needs no registry.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
