"""Calibrated levels, as NeuralAmpModelerPlugin does them, from a `.nam` file's metadata.

A capture made with NAM's trainer may record the analogue levels its interface had at 0 dBFS:
`input_level_dbu` (what the reamp fed the gear) and `output_level_dbu` (what the gear's output
reached). When the user tells us the same about their own interface, a signal at X dBFS here is
X + interface_input dBu, which the model expects at X + interface_input - input_level dBFS; and the
model's 0 dBFS should come out at output_level dBu, i.e. output_level - interface_output dBFS here.
"""

from __future__ import annotations


def calibration_db(metadata: dict, interface_input_dbu: float | None,
                   interface_output_dbu: float | None) -> tuple[float, float, list[str]]:
    """(input gain dB, output gain dB, notes): 0 for whatever the model or the user left out."""
    gain_in = gain_out = 0.0
    notes = []
    model_in, model_out = metadata.get("input_level_dbu"), metadata.get("output_level_dbu")
    if interface_input_dbu is not None and isinstance(model_in, (int, float)):
        gain_in = float(interface_input_dbu) - float(model_in)
        notes.append(f"input calibrated {gain_in:+.1f} dB (captured at {model_in:g} dBu)")
    if interface_output_dbu is not None and isinstance(model_out, (int, float)):
        gain_out = float(model_out) - float(interface_output_dbu)
        notes.append(f"output calibrated {gain_out:+.1f} dB (captured at {model_out:g} dBu)")
    return gain_in, gain_out, notes
