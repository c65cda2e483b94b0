"""RBAC evaluation: the capability matrix, who holds what; pure, no network.

Private to the collection (a leading underscore, by Ansible's convention): not an API."""
