"""Write the malformed-input corpus into tests/data/malformed/: `python tests/data/make_malformed.py`.

Every file is something a user (or a hostile file from the internet) could hand ampemu: broken,
truncated, oversized, absurdly nested, numbers out of range, models beyond what a pedal can play,
WAVs that are not audio, preset banks that lie, checkpoints that are not checkpoints. Each must give
exit code 2 and one line from every command (tests/unit/test_malformed_inputs.py). Deterministic, and
small: the largest file is a few hundred KB. Special files (FIFOs, links to /dev/zero, folders named
like files) cannot live in git: the test makes them.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import zipfile
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "malformed"


def a1_config(channels=2, kernel=3, dilations=(1, 2), head_size=1):
    return {"input_size": 1, "condition_size": 1, "head_size": head_size, "channels": channels,
            "kernel_size": kernel, "dilations": list(dilations), "activation": "Tanh", "gated": False,
            "head_bias": True}


def a1_weight_count(cfg) -> int:
    c, k, n = cfg["channels"], cfg["kernel_size"], len(cfg["dilations"])
    return c + n * (c * c * k + c + c + c * c + c) + cfg["head_size"] * c + cfg["head_size"]


def nam_doc(layers, weights=None, **extra) -> dict:
    count = sum(a1_weight_count(cfg) for cfg in layers) + 1
    doc = {"version": "0.5.4", "architecture": "WaveNet",
           "config": {"layers": layers, "head": None, "head_scale": 0.02},
           "weights": weights if weights is not None else [0.01] * count, "sample_rate": 48000, "metadata": {}}
    doc.update(extra)
    return doc


def tiny() -> dict:
    return nam_doc([a1_config()])


def lstm_doc(hidden=2, layers=1, weights=None) -> dict:
    count = sum(4 * hidden * ((1 if i == 0 else hidden) + hidden) + 6 * hidden for i in range(layers)) + hidden + 1
    return {"version": "0.5.4", "architecture": "LSTM",
            "config": {"input_size": 1, "hidden_size": hidden, "num_layers": layers},
            "weights": weights if weights is not None else [0.01] * count, "sample_rate": 48000}


def wavenetva_doc(channels=2, kernel=2, dilations=(1, 2), level_adjust=0.0, layer_idx=None, w=0.1) -> dict:
    c, n = channels, len(dilations)
    variables = [{"layer_idx": -1, "name": "W", "data": [w] * c}, {"layer_idx": -1, "name": "b", "data": [0] * c}]
    for layer in range(n):
        variables += [{"layer_idx": layer, "name": "W_conv", "data": [w] * (kernel * c * 2 * c)},
                      {"layer_idx": layer, "name": "b_conv", "data": [0] * (2 * c)},
                      {"layer_idx": layer, "name": "W_out", "data": [w] * (c * c)},
                      {"layer_idx": layer, "name": "b_out", "data": [0] * c}]
    variables += [{"layer_idx": n, "name": "W", "data": [w] * (n * c)}, {"layer_idx": n, "name": "b", "data": [0]}]
    if layer_idx is not None:
        variables[0]["layer_idx"] = layer_idx
    return {"activation": "gated", "input_channels": 1, "output_channels": 1, "residual_channels": c,
            "filter_width": kernel, "dilations": list(dilations), "variables": variables, "level_adjust": level_adjust}


def with_config(doc: dict, **changes) -> dict:
    doc = json.loads(json.dumps(doc))
    doc["config"]["layers"][0].update(changes)
    return doc


def nested(depth: int, inner="0") -> str:
    return "[" * depth + inner + "]" * depth


def models() -> dict[str, str | bytes | dict]:
    """name -> content (a dict is written as JSON)."""
    t = tiny()
    big_weights = tiny()
    big_weights["weights"] = [w * 1e36 for w in [0.5, -0.7] * (len(big_weights["weights"]) // 2)] + \
        [1e36] * (len(big_weights["weights"]) % 2)
    cases: dict[str, str | bytes | dict] = {
        "empty.nam": b"",
        "whitespace.nam": b"  \n\t ",
        "truncated.nam": json.dumps(t)[:150],
        "binary_garbage.nam": bytes(range(256)) * 8,
        "utf16.nam": json.dumps(t).encode("utf-16"),
        "top_level_list.nam": "[1, 2, 3]",
        "top_level_string.nam": '"hello"',
        "null.nam": "null",
        "nested_5000.nam": nested(5000),
        "nested_objects_5000.nam": '{"a":' * 5000 + "0" + "}" * 5000,
        "deep_metadata.nam": json.dumps(t)[:-1] + ', "extra": ' + nested(100) + "}",
        "int_10e400.nam": json.dumps(with_config(t, channels=1)).replace('"channels": 1', '"channels": 1' + "0" * 400),
        "int_5000_digits_in_weights.nam": json.dumps(t).replace('"weights": [0.01', '"weights": [' + "9" * 5000, 1),
        "float_overflow_weight.nam": json.dumps(t).replace('"weights": [0.01', '"weights": [1e400', 1),
        "nan_weight.nam": json.dumps(t).replace('"weights": [0.01', '"weights": [NaN', 1),
        "infinity_last_weight.nam": json.dumps(t).replace('0.01]', 'Infinity]'),
        "string_weight.nam": json.dumps(t).replace('"weights": [0.01', '"weights": ["0.01"', 1),
        "weights_not_list.nam": {**t, "weights": {"a": 1}},
        "weights_too_few.nam": {**t, "weights": t["weights"][:-3]},
        "weights_too_many.nam": {**t, "weights": t["weights"] + [0.0] * 5},
        "missing_config.nam": {k: v for k, v in t.items() if k != "config"},
        "missing_weights.nam": {k: v for k, v in t.items() if k != "weights"},
        "version_garbage.nam": {**t, "version": "banana"},
        "version_future.nam": {**t, "version": "9.0.0"},
        "version_number.nam": {**t, "version": 5},
        "architecture_unknown.nam": {**t, "architecture": "Transformer"},
        "architecture_list.nam": {**t, "architecture": ["WaveNet"]},
        "config_list.nam": {**t, "config": [1]},
        "layers_empty.nam": {**t, "config": {"layers": [], "head": None, "head_scale": 0.02}},
        "layers_string.nam": {**t, "config": {"layers": "abc", "head": None, "head_scale": 0.02}},
        "layer_not_object.nam": {**t, "config": {"layers": [7], "head": None, "head_scale": 0.02}},
        "channels_zero.nam": with_config(t, channels=0),
        "channels_negative.nam": with_config(t, channels=-4),
        "channels_bool.nam": with_config(t, channels=True),
        "channels_float.nam": with_config(t, channels=2.5),
        "channels_huge.nam": with_config(t, channels=10 ** 12),
        "kernel_zero.nam": with_config(t, kernel_size=0),
        "dilations_empty.nam": with_config(t, dilations=[]),
        "dilations_negative.nam": with_config(t, dilations=[0, -1]),
        "dilations_string.nam": with_config(t, dilations="1,2"),
        "dilation_huge.nam": with_config(t, dilations=[2 ** 40]),
        "activation_unknown.nam": with_config(t, activation="Banana"),
        "activation_object.nam": with_config(t, activation={"type": ["Tanh"]}),
        "gated_string.nam": with_config(t, gated="yes"),
        "film.nam": with_config(t, conv_pre_film={"active": True}),
        "slimmable_kwargs_list.nam": with_config(t, slimmable={"method": "slice_channels_uniform", "kwargs": [1, 2]}),
        "slimmable_allowed_garbage.nam": with_config(
            t, slimmable={"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [3, 1]}}),
        "sample_rate_zero.nam": {**t, "sample_rate": 0},
        "sample_rate_nan.nam": json.dumps({**t, "sample_rate": 1}).replace('"sample_rate": 1', '"sample_rate": NaN'),
        "metadata_list.nam": {**t, "metadata": [1, 2]},
        "weights_x1e36.nam": big_weights,
        "container_empty.nam": {**t, "architecture": "SlimmableContainer", "config": {"submodels": []}},
        "container_nested.nam": {**t, "architecture": "SlimmableContainer",
                                 "config": {"submodels": [{"max_value": 1.0, "model": {
                                     **t, "architecture": "SlimmableContainer",
                                     "config": {"submodels": [{"max_value": 1.0, "model": t}]}}}]}},
        "container_max_value_string.nam": {**t, "architecture": "SlimmableContainer",
                                           "config": {"submodels": [{"max_value": "1", "model": t}]}},
        "lstm_hidden_zero.nam": {**lstm_doc(), "config": {"input_size": 1, "hidden_size": 0, "num_layers": 1}},
        "lstm_layers_huge.nam": {**lstm_doc(), "config": {"input_size": 1, "hidden_size": 2, "num_layers": 10 ** 6}},
        "lstm_weights_short.nam": lstm_doc(weights=[0.0, 1.0]),
        # within every per-field limit, beyond what a pedal can play
        "receptive_field_1e9.nam": nam_doc([a1_config(1, 64, [65536] * 300)], weights=[0] * (
            a1_weight_count(a1_config(1, 64, [65536] * 300)) + 1)),
        "state_over_64mb.nam": nam_doc([a1_config(40, 2, [15000] * 30)], weights=[0] * (
            a1_weight_count(a1_config(40, 2, [15000] * 30)) + 1)),
        "prewarm_minutes.nam": nam_doc([a1_config(16, 3, [4096] * 40)], weights=[0] * (
            a1_weight_count(a1_config(16, 3, [4096] * 40)) + 1)),
        "wavenetva_truncated.json": json.dumps(wavenetva_doc())[:100],
        "wavenetva_layer_idx_list.json": wavenetva_doc(layer_idx=[0]),
        "wavenetva_level_adjust_1e300.json": wavenetva_doc(level_adjust=1e300),
        "wavenetva_channels_string.json": {**wavenetva_doc(), "residual_channels": "2"},
        "wavenetva_variables_dict.json": {**wavenetva_doc(), "variables": {"W": 1}},
        "wavenetva_data_string_huge.json": json.dumps(wavenetva_doc()).replace('"data": [0.1', '"data": ["1e400"', 1),
        "wavenetva_receptive_field_1e9.json": wavenetva_doc(channels=1, kernel=64, dilations=[2 ** 16] * 300, w=0),
        "wavenetva_nested.json": nested(3000, "{}"),
        "model.onnx.nam": b"\x08\x07\x12\x04onnx" + bytes(100),
    }
    return cases


def wav_header(rate=48000, channels=1, bits=16, frames=10, fmt=1, data_size=None) -> bytes:
    block = channels * bits // 8
    size = frames * block if data_size is None else data_size
    return (b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, fmt, channels, rate,
                                                                                rate * block, block, bits)
            + b"data" + struct.pack("<I", size))


def wavs() -> dict[str, bytes]:
    nan = struct.pack("<f", float("nan"))
    return {
        "empty.wav": b"",
        "garbage.wav": bytes(range(256)) * 4,
        "text.wav": b"this is not audio\n" * 10,
        "header_only.wav": wav_header(frames=0),
        "truncated_header.wav": wav_header()[:20],
        "inf_samples_float64.wav": wav_header(bits=64, fmt=3, frames=2) + struct.pack("<dd", float("inf"), 0.0),
        "nan_samples.wav": wav_header(bits=32, fmt=3, frames=4) + nan * 4,
        "zero_channels.wav": wav_header(channels=0) + bytes(20),
        "rate_zero.wav": wav_header(rate=0) + bytes(20),
    }


def banks() -> dict[str, str]:
    good = '[[preset]]\nname = "a"\nmodel = "../models/tiny.nam"\n'
    many = "".join(f'[[preset]]\nname = "p{i}"\nmodel = "../models/tiny.nam"\n' for i in range(100))
    return {
        "empty.toml": "",
        "garbage.toml": "this is = = not toml [[[\n",
        "nested_arrays_5000.toml": "x = " + nested(5000) + "\n" + good,
        "nested_inline_tables_3000.toml": "x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n" + good,
        "int_5000_digits.toml": "crossfade_ms = " + "9" * 5000 + "\n" + good,
        "int_4000_digits.toml": "crossfade_ms = " + "9" * 4000 + "\n" + good,
        "float_overflow.toml": "crossfade_ms = 1e400\n" + good,
        "too_many_presets.toml": many,
        "duplicate_names.toml": good + good.replace('model = "../models/tiny.nam"', 'model = "../models/tiny.nam"'),
        "preset_not_table.toml": "preset = 5\n",
        "missing_model.toml": '[[preset]]\nname = "a"\nmodel = "../models/does-not-exist.nam"\n',
        "model_is_broken.toml": '[[preset]]\nname = "a"\nmodel = "../models/truncated.nam"\n',
        "model_is_folder.toml": '[[preset]]\nname = "a"\nmodel = "../models"\n',
        "model_beyond_limits.toml": '[[preset]]\nname = "a"\nmodel = "../models/receptive_field_1e9.nam"\n',
        "model_nan_output.toml": '[[preset]]\nname = "a"\nmodel = "../models/weights_x1e36.nam"\n',
        "gain_huge.toml": '[[preset]]\nname = "a"\nmodel = "../models/tiny.nam"\noutput_gain_db = 1e300\n',
        "binary.toml": "\x00\x01\x02 = 3\n",
    }


def checkpoints() -> dict[str, bytes]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:  # a torch archive's shape, a pickle that is not one; fixed date
        z.writestr(zipfile.ZipInfo("archive/data.pkl", date_time=(2026, 1, 1, 0, 0, 0)), b"\x80\x05garbage")
    data = buffer.getvalue()
    return {"empty.ckpt": b"", "random.ckpt": bytes(range(256)) * 16, "text.ckpt": b"not a checkpoint\n",
            "zip_with_garbage_pickle.ckpt": data}


def write(folder: Path, name: str, content) -> None:
    path = folder / name
    if isinstance(content, dict):
        content = json.dumps(content)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def make(target: Path = CORPUS) -> int:
    """Write the corpus under `target` (replacing it); returns the number of files."""
    shutil.rmtree(target, ignore_errors=True)
    for kind, cases in (("models", {**models(), "tiny.nam": tiny()}), ("wavs", wavs()), ("banks", banks()),
                        ("checkpoints", checkpoints())):
        folder = target / kind
        folder.mkdir(parents=True)
        for name, content in cases.items():
            write(folder, name, content)
    return sum(1 for p in target.rglob("*") if p.is_file())


def main() -> None:
    print(f"wrote {make()} files under {CORPUS}")


if __name__ == "__main__":
    main()
