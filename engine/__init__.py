"""The Pi runtime: model file formats (formats/), the registry of model families (families.py), the
numba kernels (kernels/), streaming and offline render, the real-time host (realtime/), presets
(presets/) and the `ampemu` commands that play (commands/, cli.py). No torch; nothing from
training/ or ampemu_tools/ (docs/architecture.md)."""
