"""The desktop half: from a capture pair to a model file the engine plays (PyTorch + Lightning).

capture.py   load and check input.wav / output.wav, remove latency, split in time (numpy only)
data.py      windows with receptive-field history for torch; predict a whole segment
model.py     architectures (GatedWaveNet = the engine kernel's maths) and named presets
module.py    the LightningModule: ESR loss with pre-emphasis, validation ESR, Adam + cosine schedule
fit.py       one training run: run directory, checkpoints, Ctrl-C, export of model.json
export.py    checkpoint -> model file through the engine's format modules (EXPORTERS per --format)
evaluate.py  test metrics and PNG plots
synthetic.py the built-in capture of `ampemu demo`
cli_*.py, demo.py  the subcommands (torch-free at import)
"""
