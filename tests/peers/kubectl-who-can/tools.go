//go:build tools

// Package tools records the command this module builds (tests/peers/build.sh).
package tools

import _ "github.com/aquasecurity/kubectl-who-can/cmd/kubectl-who-can"
