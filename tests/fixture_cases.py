"""The real-Paddle exports under ``tests/fixtures``, found once for every test module that runs them.

* :func:`paddle_exports`: ``paddle/<flavour>/<model>/{jit,static}/`` with ``input.npy`` and the
  ``<kind>_output.npy`` Paddle stored (an export Paddle could not make, e.g. 3.3.1-legacy's
  transformer, has no output file and is left out: its MANIFEST says why);
* :func:`interop_manifests`: ``interop/<flavour>/<model>/MANIFEST.json``, read.
"""
import glob
import json
import os

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def paddle_exports():
    """``[(flavour, model, kind, export dir, input.npy, expected output .npy)]``, sorted."""
    out = []
    for d in sorted(glob.glob(os.path.join(FIX, "paddle", "*", "*", ""))):
        flavour, model = d.rstrip(os.sep).split(os.sep)[-2:]
        if model == "misc":
            continue
        for kind in ("jit", "static"):
            exp = os.path.join(d, f"{kind}_output.npy")
            if os.path.isdir(os.path.join(d, kind)) and os.path.isfile(exp):
                out.append((flavour, model, kind, os.path.join(d, kind), os.path.join(d, "input.npy"), exp))
    return out


def interop_manifests():
    """``[(model dir, its MANIFEST.json as a dict)]``, sorted."""
    out = []
    for m in sorted(glob.glob(os.path.join(FIX, "interop", "*", "*", "MANIFEST.json"))):
        with open(m, encoding="utf-8") as f:
            out.append((os.path.dirname(m), json.load(f)))
    return out
