"""Writing results atomically, with the provenance to trace them."""

from geotally.store.outputs import check_out_dir, staged_output

__all__ = ["check_out_dir", "staged_output"]
