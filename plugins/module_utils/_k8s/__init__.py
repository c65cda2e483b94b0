"""The Kubernetes client: the API server, kubeconfigs, the connection options.

Private to the collection (a leading underscore, by Ansible's convention): not an API."""
