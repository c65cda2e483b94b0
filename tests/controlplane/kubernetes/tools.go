//go:build tools

// Package tools pins the Kubernetes control-plane commands that the vmo.rbac
// tests build. Nothing here is compiled into a program of its own: the file
// only records the imports so that `go mod tidy` keeps them in go.sum, and
// `go build -o ../../../.controlplane/bin/ <pkg>` builds them.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
