"""Palette: its API client, the palette backend, a cluster's connection from Palette.

Private to the collection (a leading underscore, by Ansible's convention): not an API."""
