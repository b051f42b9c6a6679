"""`python -m ov_eval`: the command line (ov_eval.cli)."""
import importlib
import sys
from pathlib import Path


def _use_the_installed_package() -> None:
    """`python -m` puts the working directory first on sys.path, so a folder there named `ov_eval` (a clone's
    parent folder, an output folder) is imported as the package instead of this one. This file was found through
    the installed package: import that one, or stop with one line when it cannot be had."""
    here = Path(__file__).resolve().parent
    package = sys.modules.get("ov_eval")
    if getattr(package, "__file__", None) and Path(package.__file__).resolve().parent == here:
        return
    for name in [name for name in sys.modules if name.split(".")[0] == "ov_eval"]:
        del sys.modules[name]
    saved = list(sys.path)
    sys.path.insert(0, str(here.parent))
    try:
        package = importlib.import_module("ov_eval")
    finally:
        sys.path[:] = saved
    if not getattr(package, "__file__", None) or Path(package.__file__).resolve().parent != here:
        print(f"ov_eval: error: the folder '{Path.cwd() / 'ov_eval'}' hides the ov_eval package; run from another "
              "folder", file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    _use_the_installed_package()
    from ov_eval.cli import main

    raise SystemExit(main())
