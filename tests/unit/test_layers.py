"""The layer rules (docs/architecture.md): engine/ is the Pi runtime and imports nothing from
training/ or ampemu_tools/ (nor torch), at any depth; the tools import the engine, never the reverse."""

import ast
import subprocess
import sys
import textwrap

from support.data import REPO

FORBIDDEN = ("training", "ampemu_tools", "torch", "lightning")


def imported_names(path):
    """Every module an `import` or `from ... import` anywhere in the file (functions included) names."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def engine_modules():
    return sorted(REPO.joinpath("engine").rglob("*.py"))


def test_no_engine_module_names_training_or_the_tools():
    offenders = [f"{path.relative_to(REPO)}: {name}" for path in engine_modules() for name in imported_names(path)
                 if name.split(".")[0] in FORBIDDEN]
    assert len(engine_modules()) > 30 and not offenders, offenders


def test_every_engine_module_imports_with_training_and_the_tools_absent():
    """Each module really imported (the graph numba, jack and friends pull in too), with a meta-path
    finder that makes training/, ampemu_tools/ and torch absent, as on the Pi; the CLI still builds."""
    names = [".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__") for p in engine_modules()]
    script = textwrap.dedent(f"""
        import importlib, sys
        class Absent:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {FORBIDDEN!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        sys.meta_path.insert(0, Absent())
        for name in {names!r}:
            importlib.import_module(name)
        from engine.cli import build_parser
        commands = build_parser()._subparsers._group_actions[0].choices
        assert "bench" not in commands and "train" not in commands and "process" in commands, sorted(commands)
        print("ok", len({names!r}))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", str(len(names))]


def test_the_walk_sees_imports_inside_functions(tmp_path):
    """The lazy imports the old engine used (inside a function, `from x import y`) are what it must catch."""
    path = tmp_path / "m.py"
    path.write_text("import os\ndef f():\n    from training.model import GatedWaveNet\n    import ampemu_tools.latency\n")
    assert list(imported_names(path)) == ["os", "training.model", "ampemu_tools.latency"]
