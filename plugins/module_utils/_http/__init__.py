"""What every HTTP client of the collection shares.

Private to the collection (a leading underscore, by Ansible's convention): not an API."""
