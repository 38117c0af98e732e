"""Where secret values live: one protocol (base.py), an in-memory, a local encrypted file and a Google Secret
Manager backend, and the registry that maps keel.yaml's ``secrets.backend.type`` to one."""
