#!/bin/sh
# molecule's dependency step: nothing to download (no Galaxy); only check that Ansible finds the
# collection under test by its name.
for dir in $(echo "${ANSIBLE_COLLECTIONS_PATH:-}" | tr ':' ' '); do
    if [ -f "$dir/ansible_collections/vmo/rbac/galaxy.yml" ]; then
        echo "vmo.rbac found in $dir"
        exit 0
    fi
done
echo "vmo.rbac is not in ANSIBLE_COLLECTIONS_PATH (${ANSIBLE_COLLECTIONS_PATH:-unset}); run 'make collection' first" >&2
exit 1
