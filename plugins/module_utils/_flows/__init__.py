"""What the modules run: observe, enforce, validate, who can, the ClusterRoles, the module runner.

Private to the collection (a leading underscore, by Ansible's convention): not an API."""
