"""geotally's benchmarks, run from the repository root: `python -m benchmarks.NAME` (benchmarks/README.md).

Shared parts: `benchmarks.data` (where the real data is, the splits and label readers) and
`benchmarks.runners` (geotally and SAHI on one image, with the settings every comparison uses).
"""
