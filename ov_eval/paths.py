"""Folders the project ships beside the package (tasks/, results/), in a checkout or an installed wheel."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import ov_eval
from ov_eval.errors import OvEvalError


def project_folder(name: str, installed_package: str) -> Path:
    """`<repo>/<name>` in a checkout or editable install, else the installed package that carries it."""
    beside = Path(ov_eval.__file__).resolve().parent.parent / name
    if beside.is_dir():
        return beside
    spec = importlib.util.find_spec(installed_package)
    if spec is None or not spec.submodule_search_locations:
        raise OvEvalError(f"the bundled folder '{name}' is missing from this installation of ov_eval")
    return Path(list(spec.submodule_search_locations)[0])
