"""The local review app: check detections at full resolution, add misses, sample for an unbiased count."""
