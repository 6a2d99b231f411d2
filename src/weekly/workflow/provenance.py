"""What makes an output what it is: the code that computed it, the libraries' versions, the data.

`code_of(module)` is the digest of a module's source and of every module of the package it
imports, directly or through others, read from the source (its import statements), not
from a hand-made list. Each rule takes the digest of its step's module as a parameter
(rules/common.smk, `step_code`), so a change of the code a step runs makes that rule's jobs
out of date for Snakemake, as a changed parameter does, and nothing else: the page, the
alerts, the commands, logging and the runner are not imported by the chain's steps.

`fingerprint` identifies a trained model (and so its registration key).
"""
from __future__ import annotations

import ast
import functools
import hashlib
import json
import re
from importlib.metadata import version
from pathlib import Path

from weekly.modelling.algorithms import algorithm

PACKAGE = "weekly"
# The code that decides what a fit produces: the train step (its window, its model
# folder) and everything it imports (the adapters, the features, the split, the metrics).
TRAINING_STEP = "weekly.workflow.steps.train"


def _root() -> Path:
    return Path(__file__).resolve().parents[1]  # src/weekly


def _source(module: str, root: Path) -> Path | None:
    """The file of `module` (a module or a package's __init__), or None outside the package."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


_STATEMENT = re.compile(rb"^[ \t]*(?:from[ \t]+\S+[ \t]+import|import)[ \t]+(?:\([^)]*\)|[^\n]*)", re.MULTILINE)


@functools.cache
def _imports(path: Path, module: str) -> frozenset[str]:
    """The package's modules that the source of `module` imports (at any depth of its code):
    its import statements, each parsed alone (parsing whole modules cost a second a run; a
    line of prose that reads like one is no statement and is left out)."""
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    nodes = []
    for match in _STATEMENT.finditer(path.read_bytes()):
        try:
            nodes.extend(ast.parse(match.group(0).strip()).body)
        except SyntaxError:
            continue
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # a relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return frozenset(name for name in found if name.split(".")[0] == PACKAGE)


def closure(module: str, root: Path | None = None) -> list[str]:
    """`module` and every module of the package it imports, directly or not, sorted."""
    root = root if root is not None else _root()
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = _source(name, root)
        if name in seen or path is None:
            continue
        seen[name] = path
        todo.extend(_imports(path, name))
    if module not in seen:
        raise ValueError(f"{module} is no module of the package under {root}")
    return sorted(seen)


@functools.cache
def _digest(module: str, root: Path) -> str:
    digest = hashlib.sha256()
    for name in closure(module, root):
        digest.update(name.encode() + b"\0" + _source(name, root).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def code_of(module: str, root: Path | None = None) -> str:
    """sha256 of the source of `module` and of the package's modules it imports (16 hex
    digits). `root` is the package's folder (default: this one)."""
    return _digest(module, (root if root is not None else _root()).resolve())


def library_versions(algo: str) -> dict[str, str]:
    """The installed versions of the distributions that fit and load `algo`'s models."""
    return {dist: version(dist) for dist in algorithm(algo).distributions}


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fingerprint(algo: str, week: str, settings: list, data_paths: list[str]) -> str:
    """What identifies a trained model: algorithm, week, settings, training code, library
    versions and the bytes of its data."""
    identity = [algo, week, settings, code_of(TRAINING_STEP), library_versions(algo)]
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode())
    for path in data_paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]
