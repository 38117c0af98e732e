"""A local Secret Manager: the REST API v1 surface (secrets, versions, aliases, access, enable/disable/destroy)
that the official client's REST transport uses, in memory. Reached as Google's emulators are:
``SECRET_MANAGER_EMULATOR_HOST=127.0.0.1:PORT`` or ``secrets.backend.endpoint`` in keel.yaml."""
