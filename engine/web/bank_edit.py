"""Changes the web page makes to the preset bank: uploaded files and the presets that use them.

An upload is checked the way `ampemu presets check` checks a preset (the same `check_model`, and the
whole bank re-validated by the same parser), written atomically into the bank's folder under a new
name (never over an existing file, never outside the folder), and added to an in-memory copy of the
bank as a new preset or as an existing preset's new model. `save` writes that copy back atomically,
keeping the previous file as `<bank>.bak`; the user's comments and layout survive (tomlkit). The
playing engine loads the new presets when it restarts: every model is loaded and prewarmed before
going live, never while playing.
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

import tomlkit

from engine.atomic import replacing, write_atomically
from engine.commands.presets import check_model
from engine.errors import AmpemuError
from engine.kernels import resample
from engine.presets.bank import PRESET_KEYS, parse_bank
from engine.realtime.channel import MAX_SLOTS

MAX_UPLOAD_BYTES = 16 * 2**20  # the largest NAM captures are a few MB of JSON
# what each kind of upload may be called, and the preset key it sets
KINDS = {"model": ((".nam", ".json"), "model"), "ir": ((".wav",), "ir")}
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _+()-]{0,99}(\.[A-Za-z0-9]{1,8})")
MAX_NAME = 40


class EditError(AmpemuError):
    """A refused change: `status` is the HTTP status the web API answers with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BankEditor:
    def __init__(self, path, sample_rate: int, max_upload: int = MAX_UPLOAD_BYTES):
        self.path, self.sample_rate, self.max_upload = Path(path), sample_rate, max_upload
        self.folder = self.path.parent.resolve()
        text = self.path.read_bytes()
        self._loaded_digest = _digest(text)  # the bank as the engine loaded it
        self.doc = tomlkit.parse(text.decode("utf-8"))
        self.bank = parse_bank(self.doc.unwrap(), self.path)
        self.unsaved = False  # the in-memory bank differs from the file
        self.unapplied = False  # the file (or the memory) differs from what plays
        self._lock = threading.Lock()  # uploads run on worker threads

    def preset_names(self) -> list[str]:
        return [p.name for p in self.bank.presets]

    def _target(self, filename: str, kind: str) -> Path:
        """The upload's path in the bank's folder; refuses names that could point anywhere else."""
        if kind not in KINDS:
            raise EditError(400, f"unknown upload kind {kind!r}: model or ir")
        suffixes, key = KINDS[kind]
        if key not in PRESET_KEYS:
            raise EditError(400, f"this engine plays no {kind} files yet (no '{key}' key in a preset)")
        match = SAFE_NAME.fullmatch(filename or "")
        if not match or ".." in filename:
            raise EditError(400, f"file name {filename!r} refused: use letters, digits, spaces, _ + ( ) - and "
                            "one extension, no folders")
        if match.group(1).lower() not in suffixes:
            raise EditError(415, f"{filename}: a {kind} upload must be a {' or '.join(suffixes)} file")
        target = (self.folder / filename).resolve()
        if target.parent != self.folder:
            raise EditError(400, f"file name {filename!r} refused: it leaves the bank's folder")
        if target.exists():
            raise EditError(409, f"{filename} already exists in {self.folder}; rename the file before uploading")
        return target

    def check_upload(self, filename: str, kind: str, size: int) -> None:
        """Refusals that need no file content (called before reading the body, and again after)."""
        self._target(filename, kind)
        if size > self.max_upload:
            raise EditError(413, f"{filename}: {size} bytes, uploads are limited to {self.max_upload} bytes")

    def upload(self, filename: str, data: bytes, kind: str = "model", replace: int | None = None,
               name: str | None = None) -> str:
        """Write `data` as `filename` into the bank's folder and add it to the bank: a new preset called
        `name`, or preset `replace`'s file. Returns a one-line summary; raises EditError."""
        with self._lock:
            self.check_upload(filename, kind, len(data))
            target = self._target(filename, kind)
            key = KINDS[kind][1]
            entries = self.doc.get("preset")
            if replace is not None:
                if isinstance(replace, bool) or not isinstance(replace, int) or not 0 <= replace < len(entries):
                    raise EditError(400, f"no preset {replace!r} to replace (0..{len(entries) - 1})")
            else:
                if kind != "model":
                    raise EditError(400, f"a {kind} upload replaces a preset's {key}: say which preset")
                name = (name or Path(filename).stem).strip()
                if not name or len(name) > MAX_NAME or not name.isprintable():
                    raise EditError(400, f"preset name {name!r}: 1 to {MAX_NAME} printable characters")
                if name in self.preset_names():
                    raise EditError(409, f"a preset called {name!r} exists already; choose another name")
                if len(entries) >= MAX_SLOTS:
                    raise EditError(409, f"the bank holds {len(entries)} presets, the engine at most {MAX_SLOTS}")
            summary = self._write_checked(target, data, kind)
            before = tomlkit.dumps(self.doc)
            if replace is not None:
                entries[replace][key] = filename
            else:
                table = tomlkit.table()
                table.update({"name": name, "model": filename})
                entries.append(table)
            try:
                self.bank = parse_bank(self.doc.unwrap(), self.path)
            except AmpemuError as exc:  # undo: the file is ours (just created), the bank unchanged
                target.unlink(missing_ok=True)
                self.doc = tomlkit.parse(before)
                raise EditError(422, str(exc)) from None
            self.unsaved = self.unapplied = True
            which = f"preset {replace + 1}'s {key}" if replace is not None else f"new preset {name!r}"
            return f"{filename} -> {which}: {summary}"

    def _write_checked(self, target: Path, data: bytes, kind: str) -> str:
        with replacing(target, suffix=target.suffix) as tmp:
            tmp.write_bytes(data)
            if kind != "model":
                return f"{len(data)} bytes"
            try:
                model, summary = check_model(tmp, self.bank)
            except AmpemuError as exc:
                raise EditError(422, f"{target.name}: {str(exc).replace(str(tmp), target.name)}") from None
            if model.sample_rate != self.sample_rate:  # it will play through a resampler, if one fits the ratio
                try:
                    latency = resample.design(self.sample_rate, model.sample_rate)[-1]
                except ValueError as exc:
                    raise EditError(422, f"{target.name}: {exc}") from None
                summary += f"; plays resampled to the engine's {self.sample_rate} Hz (+{latency:.0f} samples latency)"
        return summary

    def save(self) -> str:
        """Write the bank (atomically; the file it replaces becomes <bank>.bak). Refused when someone
        changed the file on disk since the engine loaded it: their edit must not be lost."""
        with self._lock:
            current = self.path.read_bytes()
            if _digest(current) != self._loaded_digest:
                raise EditError(409, f"{self.path} changed on disk since the engine loaded it; restart the "
                                "engine to load it (your uploads are in the bank's folder)")
            text = tomlkit.dumps(self.doc)
            backup = self.path.with_name(self.path.name + ".bak")
            write_atomically(backup, current)
            write_atomically(self.path, text)
            self._loaded_digest = _digest(text.encode("utf-8"))
            self.unsaved = False
            return f"saved {self.path} ({len(self.bank.presets)} presets; the previous file is {backup.name})"
