"""The declaration and the plan: pure, no network.

Private to the collection (a leading underscore, by Ansible's convention): not an API."""
