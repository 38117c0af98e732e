"""The public HTTP API of Bayit+, one module per resource."""
