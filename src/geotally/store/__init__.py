"""Writing results atomically, with the provenance to trace them."""
