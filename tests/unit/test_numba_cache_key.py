"""numba's cache directory is named after every source whose values the compiled code holds
(engine/kernels/__init__.py): an edit there must change the name, so stale machine code never loads."""

import ast
import importlib
import shutil

import engine.kernels as kernels


def engine_imports(path):
    """(module, [names] or None for `import module`) of every `engine.*` import in the file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("engine"):
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names if alias.name.startswith("engine"))


def module_path(name):
    path = kernels.ENGINE.parent.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def test_compiled_code_takes_only_classes_from_modules_outside_the_key():
    """A constant or function imported into compiled code from an unhashed module could be frozen into
    machine code; a class (a dataclass of weights, an exception) stays on the Python side."""
    hashed = set(kernels.hashed_sources())
    compiled = sorted({p for pattern in kernels.COMPILED for p in kernels.ENGINE.glob(pattern)})
    problems = []
    for path in compiled:
        for module, names in engine_imports(path):
            source = module_path(module)
            if source in hashed:
                continue
            if names is None:
                problems.append(f"{path.name}: import {module} (a whole module outside the cache key)")
                continue
            imported = importlib.import_module(module)
            problems += [f"{path.name}: {name} from {module}" for name in names
                         if module_path(f"{module}.{name}") not in hashed  # a hashed submodule is fine
                         and not isinstance(getattr(imported, name, None), type)]
    assert not problems, problems


def test_reordering_the_activation_codes_changes_the_key(tmp_path):
    copy = tmp_path / "engine"
    shutil.copytree(kernels.ENGINE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert kernels.cache_key(copy) == kernels.cache_key()
    nam = copy / "formats" / "nam" / "activations.py"
    text = nam.read_text()
    assert '("Tanh", "Hardtanh",' in text
    nam.write_text(text.replace('("Tanh", "Hardtanh",', '("Hardtanh", "Tanh",'))
    assert kernels.cache_key(copy) != kernels.cache_key()
