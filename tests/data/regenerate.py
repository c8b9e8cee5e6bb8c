"""Rebuild tests/data/ from the project's reference data in ../shared (see tests/data/README.md).

Usage, from the repository root: `python tests/data/regenerate.py [SHARED]` (default ../shared).
Model files are copied whole. Golden renders are cut to their first GOLDEN_SECONDS: every model is
causal and the goldens were rendered from a zeroed (prewarmed) state, so the head of a golden is the
golden of the head of its input.
"""

from __future__ import annotations

import shutil
import struct
import sys
from pathlib import Path

import soundfile as sf

HERE = Path(__file__).resolve().parent
GOLDEN_SECONDS = 0.5  # 24000 samples at 48 kHz: past every model's prewarm (A2: 6347 samples)

COPIED = [
    "models/wavenetva/PedalNetRT_pedalnet.json",
    "models/wavenetva/SmartGuitarPedal_ts9_fullD.json",
    "models/wavenetva/WaveNetVA_WaveNet2-ts7.json",
    "models/wavenetva/golden/input_8192.npy",
    "models/wavenetva/golden/PedalNetRT_pedalnet.out_8192.npy",
    "models/wavenetva/golden/SmartGuitarPedal_ts9_fullD.out_8192.npy",
    "models/wavenetva/golden/WaveNetVA_WaveNet2-ts7.out_8192.npy",
    "models/seed-profiles/Klon-Centaur.json",
    "models/seed-profiles/Marshall-JMP-Plexi-1968.json",
    "models/seed-profiles/Fender-Tweed-Deluxe.json",
    *[f"models/nam/{name}.nam" for name in ("wavenet_a1_standard", "random_lite", "random_feather", "random_nano")],
    *[f"models/nam-a2/{name}.nam" for name in ("fuzzface_a2", "lstm", "slimmable_container", "slimmable_wavenet",
                                                  "wavenet_a2_max", "wavenet_condition_dsp")],
]
SLICED = [
    "models/nam/golden/input_guitar_6s.wav",
    *[f"models/nam/golden/{name}.out.wav" for name in ("wavenet_a1_standard", "random_lite", "random_feather",
                                                        "random_nano")],
    *[f"models/nam-a2/golden/{name}.out.wav" for name in (
        "fuzzface_a2", "fuzzface_a2.slim0.25", "lstm", "slimmable_container", "slimmable_container.slim0.0",
        "slimmable_container.slim0.5", "slimmable_wavenet", "slimmable_wavenet.slim0.0",
        "slimmable_wavenet.slim0.5", "wavenet_condition_dsp")],
]


def write_float_wav(path: Path, audio, rate: int) -> None:
    """Mono 32-bit float WAV with no PEAK chunk: libsndfile stamps that chunk with the time of
    writing, and these files must come out byte-identical on every run."""
    data = audio.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, 4 * rate, 4, 32)  # WAVE_FORMAT_IEEE_FLOAT, mono
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE"
                     + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data)


def main(argv: list[str]) -> int:
    shared = Path(argv[0]) if argv else HERE.parents[2] / "shared"
    if not shared.is_dir():
        print(f"{shared} is missing: this script copies from the reference data next to the repository")
        return 2
    for rel in COPIED:
        (HERE / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared / rel, HERE / rel)
    for rel in SLICED:
        audio, rate = sf.read(shared / rel, dtype="float32")
        (HERE / rel).parent.mkdir(parents=True, exist_ok=True)
        write_float_wav(HERE / rel, audio[:int(GOLDEN_SECONDS * rate)], rate)
    print(f"{len(COPIED)} files copied and {len(SLICED)} goldens cut to {GOLDEN_SECONDS} s under {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
