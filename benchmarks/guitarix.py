"""Guitarix devices rendered offline with `lv2apply`: the plugins behind ../shared/datasets, and
held-out ones that no recipe was ever tried on.

A recipe tuned to the four shared captures would not hold on a player's own amp, so the fidelity
benchmark also grades on HELD_OUT: amps and a pedal, each at its plugin's default settings (nothing
chosen to flatter a recipe), driven by the shared jcm800 DI takes (the 180 s capture to train on,
the 30 s `muted30` take of other playing to grade on). Needs Debian's guitarix-lv2 and lilv-utils.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

GX = "http://guitarix.sourceforge.net/plugins/"
# the shared captures' devices: (plugin, rate, controls, clean capture folder, other-playing folder), as
# ../shared/README.md lists them (benchmarks/compare_capture_signal.py renders the capture signal through them)
SHARED_DEVICES = {
    "ts9": (GX + "gxts9#ts9sim", 44100, {"fslider2_": 0.8, "fslider1_": 500, "fslider0_": -2},
            "ts9-clean180_44k", "ts9-muted30_44k"),
    "fuzzface": (GX + "gx_fuzzface_#_fuzzface_", 48000, {"FUZZ": 0.9, "LEVEL": 0.7},
                 "fuzzface-clean180_48k", "fuzzface-muted30_48k"),
    "ds1": (GX + "gx_bossds1_#_bossds1_", 48000, {"DRIVE": 0.7, "TONE": 0.5, "LEVEL": -2},
            "ds1-clean180_48k", "ds1-muted30_48k"),
}
# name -> (plugin URI, controls): each at its defaults (lv2apply runs the amps without their cabinet
# convolver, as a load box would hear them)
HELD_OUT = {
    "metalhead": (GX + "gxmetal_head#metal_head", {}),  # a high-gain head
    "chump": (GX + "gx_redeye#chump", {}),  # a small tube amp
    "studiopre": (GX + "gx_studiopre#studiopre", {}),  # a tube preamp with a tone stack
    "muff": (GX + "gx_muff_#_muff_", {}),  # a Big Muff fuzz
}
DRIVEN_BY = "jcm800"  # whose DI takes (48 kHz) feed the held-out devices


def render(plugin: str, controls: dict, source: Path, target: Path) -> None:
    """`target` = `source` through the plugin at `controls` (offline, the source's rate)."""
    if shutil.which("lv2apply") is None:
        raise SystemExit("lv2apply not found: apt-get install guitarix-lv2 lilv-utils")
    cmd = ["lv2apply", "-i", str(source), "-o", str(target)]
    for symbol, value in controls.items():
        cmd += ["-c", symbol, str(value)]
    subprocess.run(cmd + [plugin], check=True, capture_output=True)


def held_out_pair(device: str, kind: str, datasets: Path, work: Path) -> tuple[Path, Path]:
    """(input, output) of a held-out device's `kind` take ("clean180" or "muted30"), rendered once."""
    plugin, controls = HELD_OUT[device]
    source_folder = next(datasets.glob(f"{DRIVEN_BY}-{kind}*"))
    source = next(source_folder.glob("input.*"))
    folder = work / "held-out" / f"{device}-{kind}"
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / f"output{source.suffix}"  # lv2apply writes the source's format
    if not output.exists():
        rendering = folder / f"rendering{source.suffix}"
        render(plugin, controls, source, rendering)
        rendering.rename(output)  # a killed render leaves no half file behind
    return source, output
