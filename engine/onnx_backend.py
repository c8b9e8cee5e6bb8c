"""The onnxruntime backend: a streaming `.onnx` from `ampemu export --format onnx`, played block by block.

`OnnxStreamingModel` presents the interface of engine.streaming.StreamingModel (`process(x, y)`,
`process_in_blocks`, `reset()`, `prewarm()`, `warm_up()`, `sample_rate`, `receptive_field`, `name`,
`description`, `metadata`), so `render()` and `ampemu process --backend onnxruntime` use it unchanged.
It runs in Python: a real-time host can call `process` from a Python callback (the JACK host's
compiled callback cannot reach it), at the cost of the interpreter's own allocations.

The session has one intra-op thread and sequential execution. Audio and state go through I/O
bindings on preallocated numpy buffers: the states ping-pong between two sets of arrays (one
binding per direction), so onnxruntime reads and writes them in place and each call only rebinds
the block's input and output pointers. onnxruntime is optional on the Pi: one line if it is missing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from engine.errors import AmpemuError
from engine.families import Family, register
from engine.streaming import run_zeros

FORMAT = "ampemu-streaming"  # the same constants as training/onnx_export.py, which engine must not import
FORMAT_VERSION = 1


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise AmpemuError("the onnxruntime backend needs the onnxruntime package: `pip install onnxruntime` "
                          "(it is part of the train extra)") from None
    return onnxruntime


def _session(ort, path: Path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: warnings would land in the middle of the CLI's output
    try:
        return ort.InferenceSession(path.read_bytes(), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own classes for protobuf and graph errors
        detail = (str(exc).strip().splitlines() or [""])[0]
        detail = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", detail)[:120]
        raise AmpemuError(f"{path}: not a readable ONNX model ({exc.__class__.__name__}: {detail}); "
                          "export one with `ampemu export --format onnx`") from None


def _properties(path: Path, session) -> dict:
    """The metadata written by training/onnx_export.py, checked against the graph's own inputs and outputs."""
    props = session.get_modelmeta().custom_metadata_map
    foreign = f"{path}: not an ampemu streaming ONNX model"
    if props.get("ampemu_format") != FORMAT:
        raise AmpemuError(f"{foreign} (no '{FORMAT}' metadata); export one with `ampemu export --format onnx`")
    if props.get("format_version") != str(FORMAT_VERSION):
        raise AmpemuError(f"{path}: streaming ONNX format version {props.get('format_version')!r} is not "
                          f"supported (this engine reads version {FORMAT_VERSION}); re-export the model")
    try:
        shapes = [tuple(int(n) for n in s) for s in json.loads(props["state_shapes"])]
        parsed = {"sample_rate": int(props["sample_rate"]), "receptive_field": int(props["receptive_field"]),
                  "prewarm_samples": int(props.get("prewarm_samples", "0")), "state_shapes": shapes,
                  "architecture": props.get("architecture", "?"), "name": props.get("name", path.stem),
                  "config": json.loads(props.get("config", "{}")), "metadata": json.loads(props.get("metadata", "{}"))}
    except (KeyError, ValueError, TypeError) as exc:
        raise AmpemuError(f"{foreign} (damaged metadata: {exc.__class__.__name__} {exc}); re-export the model") from None
    states = [f"state_{i}" for i in range(len(shapes))]
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    if set(inputs) != {"x", *states} or outputs != {"y", *(f"new_{s}" for s in states)}:
        raise AmpemuError(f"{foreign} (its inputs/outputs are not x, state_*, y, new_state_*); re-export the model")
    for name, shape in zip(states, shapes):
        if tuple(inputs[name].shape) != shape:
            raise AmpemuError(f"{foreign} ({name} is {inputs[name].shape}, metadata says {list(shape)}); "
                              "re-export the model")
    return parsed


class OnnxStreamingModel:
    def __init__(self, path):
        path = Path(path)
        ort = _onnxruntime()
        if not path.is_file():
            raise AmpemuError(f"{path}: no such model file")
        self._session = _session(ort, path)
        props = _properties(path, self._session)
        self.sample_rate = props["sample_rate"]
        self.receptive_field = props["receptive_field"]
        self.prewarm_samples = props["prewarm_samples"]
        self.state_shapes = props["state_shapes"]
        self.output_gain_db = 0.0
        self.name = props["name"] or path.stem
        self.metadata = props["metadata"]
        channels = sorted({c for _, c, _ in self.state_shapes})
        self.description = (f"{props['architecture']} via onnxruntime, {len(self.state_shapes)} causal layers, "
                            f"{'/'.join(map(str, channels))} channels")
        # two sets of state buffers; binding k reads set k and writes set 1 - k
        self._states = [[np.zeros(s, np.float32) for s in self.state_shapes] for _ in range(2)]
        self._bindings = [self._session.io_binding() for _ in range(2)]
        for k, binding in enumerate(self._bindings):
            for i, (src, dst) in enumerate(zip(self._states[k], self._states[1 - k])):
                binding.bind_input(f"state_{i}", "cpu", 0, np.float32, list(src.shape), src.ctypes.data)
                binding.bind_output(f"new_state_{i}", "cpu", 0, np.float32, list(dst.shape), dst.ctypes.data)
        self._current = 0
        self.warm_up()
        self.reset()

    def process(self, x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        """Process one block (float32, any length >= 1) and return the output block."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if y is None:
            y = np.empty_like(x)
        elif y.dtype != np.float32 or not y.flags.c_contiguous or y.size != x.size:
            # onnxruntime writes through y's raw pointer: a strided or short view would be overrun
            raise ValueError(f"y must be a contiguous float32 array of {x.size} samples")
        binding = self._bindings[self._current]
        binding.bind_input("x", "cpu", 0, np.float32, [x.size], x.ctypes.data)
        binding.bind_output("y", "cpu", 0, np.float32, [y.size], y.ctypes.data)
        self._session.run_with_iobinding(binding)
        self._current = 1 - self._current
        return y

    def process_in_blocks(self, x: np.ndarray, y: np.ndarray, block: int) -> None:
        """Process a long signal as consecutive `block`-sized calls (a Python loop: one run per block)."""
        for start in range(0, x.size, block):
            self.process(x[start:start + block], y[start:start + block])

    def reset(self) -> None:
        for states in self._states:
            for state in states:
                state[:] = 0.0
        self._current = 0
        self.prewarm()

    def prewarm(self) -> None:
        run_zeros(self.process, self.prewarm_samples)

    def warm_up(self) -> None:
        """One call, so onnxruntime plans its memory before the first real block."""
        self.process(np.zeros(64, np.float32))


def load_onnx_model(path) -> OnnxStreamingModel:
    return OnnxStreamingModel(path)


register(Family("onnx", "streaming ONNX", ".onnx", "ampemu's streaming ONNX graph", OnnxStreamingModel,
                load_onnx_model, lambda model, fast, name, slim: model, backend="onnxruntime", exporter="onnx"))
