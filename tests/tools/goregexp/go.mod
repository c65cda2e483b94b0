module vmo.rbac/goregexp

go 1.26
