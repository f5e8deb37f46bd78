"""Every program real Paddle wrote under ``tests/fixtures/paddle`` and ``tests/fixtures/interop`` loads in
sampan, with ``jit.load`` and with ``static.load_inference_model``, and reproduces Paddle's stored
outputs; every op type those programs use is in the registry; ``docs/ops.md`` is up to date.

Fixture layouts (see each folder's README / ``make_*fixtures.py``):

* ``paddle/<flavour>/<model>/{jit,static}/model.{pdmodel|json}`` + ``model.pdiparams`` with
  ``input.npy`` and ``jit_output.npy`` / ``static_output.npy`` (flavours 2.6.2, 3.3.1-legacy,
  3.3.1-pir; models linear, mlp, cnn, transformer);
* ``interop/<flavour>/<model>/MANIFEST.json`` naming the exports (``jit``, ``static``, and the
  ``separate`` directory layout of 3.3.1: ``__model__[.json]`` + one file per variable), the
  inputs (``input.npy``, ``input_1.npy``...) and outputs (``output.npy``, ``output_1.npy``...).

No Paddle is imported here: the expected values are what Paddle computed when it wrote the files.
"""
from __future__ import annotations

import collections
import importlib.util
import os

import numpy as np
import pytest

import sampan
from tests.fixture_cases import interop_manifests, paddle_exports

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTS)
FIX = os.path.join(TESTS, "fixtures")
RTOL, ATOL = 1e-5, 1e-6


# ----------------------------------------------------------------------------- case discovery
Case = collections.namedtuple("Case", "id path kwargs feed_names inputs outputs")


def _paddle_cases():
    # (3.3.1-legacy could not build the transformer: no output file, its MANIFEST says why)
    return [Case(f"paddle/{flavour}/{model}/{kind}", os.path.join(d, "model"), {}, ["x"], [inp], [exp])
            for flavour, model, kind, d, inp, exp in paddle_exports()]


def _interop_cases():
    out = []
    for d, man in interop_manifests():
        inputs = [os.path.join(d, i["file"]) for i in man["inputs"]]
        outputs = [os.path.join(d, o["file"]) for o in man["outputs"]]
        feeds = [i["name"] for i in man["inputs"]]
        for kind, e in sorted(man["exports"].items()):
            if kind == "separate":      # a directory: __model__[.json] + one file per variable
                path, kw = os.path.join(d, e["dir"]), {"model_filename": e["model_filename"]}
            else:
                path, kw = os.path.join(d, e["prefix"]), {}
            out.append(Case(f"interop/{man['flavour']}/{man['model']}/{kind}", path, kw, feeds, inputs, outputs))
    return out


CASES = _paddle_cases() + _interop_cases()


def _program_files():
    """Every program file under both fixture roots (inference programs and paddle.save'd Programs)."""
    files = []
    for root in (os.path.join(FIX, "paddle"), os.path.join(FIX, "interop")):
        for dp, _, fns in os.walk(root):
            for fn in fns:
                if fn.endswith((".pdmodel", ".json")) and fn != "MANIFEST.json" or fn == "__model__":
                    files.append(os.path.join(dp, fn))
    return sorted(files)


def _is_pir(path):
    with open(path, "rb") as f:
        return f.read(64).lstrip()[:1] == b"{"


def _manifest_op_types():
    """{program file: op types} as recorded by Paddle's own protobuf classes at generation time."""
    res = {}
    for d, man in interop_manifests():
        for e in man["exports"].values():
            if "dir" in e:
                p = os.path.join(d, e["dir"], e["model_filename"])
            else:
                p = os.path.join(d, e["prefix"]) + (".json" if e["format"] == "pir_json" else ".pdmodel")
            res[p] = set(e["op_types"])
    return res


def _expected(case):
    return [np.load(p) for p in case.outputs]


def _check(case, got, who):
    want = _expected(case)
    got = list(got) if isinstance(got, (list, tuple)) else [got]
    assert len(got) == len(want), f"{case.id}: {who} gave {len(got)} outputs, Paddle gave {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        g = np.asarray(g.numpy() if hasattr(g, "numpy") else g)
        assert g.shape == w.shape, f"{case.id} output {i}: {who} shape {g.shape}, Paddle {w.shape}"
        assert g.dtype == w.dtype, f"{case.id} output {i}: {who} dtype {g.dtype}, Paddle {w.dtype}"
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL, err_msg=f"{case.id} output {i} ({who})")


@pytest.fixture
def dygraph():
    sampan.disable_static()
    yield
    sampan.disable_static()


@pytest.fixture
def static_mode():
    sampan.enable_static()
    try:
        yield
    finally:
        sampan.disable_static()


# ----------------------------------------------------------------------------- discovery sanity
def test_fixture_inventory():
    """The fixture trees are there and complete (a fresh clone has them; a broken copy fails here)."""
    ids = {c.id for c in CASES}
    for fl in ("2.6.2", "3.3.1-legacy", "3.3.1-pir"):
        for model in ("linear", "mlp", "cnn"):
            for kind in ("jit", "static"):
                assert f"paddle/{fl}/{model}/{kind}" in ids
    for kind in ("jit", "static"):
        assert f"paddle/2.6.2/transformer/{kind}" in ids and f"paddle/3.3.1-pir/transformer/{kind}" in ids
    interop = [c for c in CASES if c.id.startswith("interop/")]
    assert len(interop) >= 40, f"only {len(interop)} interop exports found"
    kinds = {c.id.rsplit("/", 1)[1] for c in interop}
    assert kinds == {"jit", "static", "separate"}
    for c in CASES:
        for p in c.inputs + c.outputs:
            assert os.path.isfile(p), p


# ----------------------------------------------------------------------------- loading and running
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_jit_load_reproduces_paddle(case, dygraph):
    layer = sampan.jit.load(case.path, **case.kwargs)
    layer.eval()
    xs = [sampan.to_tensor(np.load(p)) for p in case.inputs]
    _check(case, layer(*xs), "sampan.jit.load")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_load_inference_model_reproduces_paddle(case, static_mode):
    scope = sampan.static.Scope()
    with sampan.static.scope_guard(scope):
        exe = sampan.static.Executor(sampan.CPUPlace())
        program, feed_names, fetch_targets = sampan.static.load_inference_model(case.path, exe, **case.kwargs)
        assert list(feed_names) == case.feed_names, f"{case.id}: feed names {feed_names}"
        assert len(fetch_targets) == len(case.outputs)
        feed = {n: np.load(p) for n, p in zip(feed_names, case.inputs)}
        got = exe.run(program, feed=feed, fetch_list=fetch_targets)
    _check(case, got, "sampan.static.load_inference_model + Executor.run")


# ----------------------------------------------------------------------------- op coverage
def _decoded_op_types(path):
    from sampan.formats.model_files import decode_any_program
    with open(path, "rb") as f:
        prog = decode_any_program(f.read())
    return {op.type for i in range(prog.num_blocks) for op in prog.block(i).ops}


def _missing_ops(paths):
    from sampan.ops.registry import all_ops
    known = set(all_ops())
    missing = collections.defaultdict(list)
    for p in paths:
        for t in sorted(_decoded_op_types(p) - known):
            missing[t].append(os.path.relpath(p, FIX))
    return missing


def _fmt_missing(missing):
    return "\n".join(f"  {t}: used by {len(fs)} program(s), e.g. {fs[0]}" for t, fs in sorted(missing.items()))


def test_legacy_fixture_ops_are_registered():
    """Every op type of every ProgramDesc fixture is a registered sampan op."""
    paths = [p for p in _program_files() if not _is_pir(p)]
    assert len(paths) > 30
    missing = _missing_ops(paths)
    # Paddle's own protobuf classes recorded the op types when the interop fixtures were written;
    # those must all be registered too (and sampan's decoder must have seen them all).
    from sampan.ops.registry import all_ops
    known = set(all_ops())
    for p, types in _manifest_op_types().items():
        if _is_pir(p):
            continue
        assert types <= _decoded_op_types(p), f"{p}: decoder lost ops {sorted(types - _decoded_op_types(p))}"
        for t in sorted(types - known):
            if os.path.relpath(p, FIX) not in missing[t]:
                missing[t].append(os.path.relpath(p, FIX))
    assert not missing, "op types used by Paddle fixture programs but missing from sampan's registry:\n" + \
        _fmt_missing(missing)


def test_pir_fixture_ops_are_registered():
    """Every PIR json fixture translates to registered sampan ops."""
    paths = [p for p in _program_files() if _is_pir(p)]
    assert len(paths) > 15
    missing = _missing_ops(paths)
    assert not missing, "op types that PIR fixture programs translate to but sampan's registry lacks:\n" + \
        _fmt_missing(missing)


def test_unknown_op_type_is_reported_by_name(tmp_path, static_mode):
    """A program with an op type sampan does not know fails naming the op type and its inputs (issue 7),
    never with a bare KeyError."""
    src = os.path.join(FIX, "paddle", "2.6.2", "linear", "static", "model")
    with open(src + ".pdmodel", "rb") as f:
        data = f.read()
    # OpDesc.type is field 3 (tag 0x1a); same-length replacement keeps every protobuf length valid.
    old, new = b"\x1a\x0felementwise_add", b"\x1a\x0ffrobnicate_v9xx"
    assert data.count(old) == 1
    (tmp_path / "m.pdmodel").write_bytes(data.replace(old, new))
    with open(src + ".pdiparams", "rb") as f:
        (tmp_path / "m.pdiparams").write_bytes(f.read())
    x = np.load(os.path.join(FIX, "paddle", "2.6.2", "linear", "input.npy"))
    with sampan.static.scope_guard(sampan.static.Scope()):
        exe = sampan.static.Executor(sampan.CPUPlace())
        with pytest.raises(Exception) as ei:
            program, feeds, fetches = sampan.static.load_inference_model(str(tmp_path / "m"), exe)
            exe.run(program, feed={feeds[0]: x}, fetch_list=fetches)
    msg = str(ei.value)
    assert "frobnicate_v9xx" in msg and "linear_0.b_0" in msg, msg   # the op type and an input (a parameter)
    assert type(ei.value) is not KeyError, f"bare KeyError: {msg}"


# ----------------------------------------------------------------------------- docs/ops.md
def _gen_ops_doc():
    spec = importlib.util.spec_from_file_location("gen_ops_doc", os.path.join(ROOT, "scripts", "gen_ops_doc.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_ops_doc_is_up_to_date():
    """docs/ops.md is what scripts/gen_ops_doc.py makes from the registry now."""
    want = _gen_ops_doc().render()
    path = os.path.join(ROOT, "docs", "ops.md")
    assert os.path.isfile(path), "docs/ops.md is missing: run .venv/bin/python scripts/gen_ops_doc.py"
    with open(path, encoding="utf-8") as f:
        have = f.read()
    assert have == want, "docs/ops.md is stale: run .venv/bin/python scripts/gen_ops_doc.py"


def test_ops_doc_lists_every_registered_op():
    from sampan.ops.registry import all_ops
    text = _gen_ops_doc().render()
    forward = [t for t, od in all_ops().items() if not od.is_grad_op and not t.endswith("_grad")]
    assert forward
    for t in forward:
        assert f"`{t}`" in text, t
