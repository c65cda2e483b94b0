// kubectl-who-can, the peer the who-can differential test and benchmark compare with, pinned.
// `go install github.com/aquasecurity/kubectl-who-can/cmd/kubectl-who-can@v0.4.0` does not work
// through the module proxy (it refuses the version list go install asks for); a module of our own
// that requires it does. tests/peers/build.sh builds it into .tools-peers/bin.
module vmo.rbac/tests/peers/kubectl-who-can

go 1.26

require github.com/aquasecurity/kubectl-who-can v0.4.0
