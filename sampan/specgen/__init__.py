"""OCI runtime spec generation: image config + run options -> config.json."""
