"""Helpers shared by the tests and benchmarks (on sys.path through pyproject's pytest `pythonpath`):
data (where reference files live), audio (test signals, block-partitioned runs, allocation counts),
jack (a private jackd and a player/recorder rig), presets (banks and the switch reference),
nam_reference (float64 NAM references and random NAM models), web (a bank folder, an HTTP client and
an engine serving its phone page)."""
