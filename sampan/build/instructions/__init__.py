"""One module per instruction family: metadata (config only), run, copy/add, workdir."""
