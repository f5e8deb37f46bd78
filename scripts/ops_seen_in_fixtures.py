"""Write docs/ops_seen_in_fixtures.md: every op type in the Paddle fixture programs with its slots and
attributes (types and the values seen), for the authors of op kernels and of the codecs.

Run: .venv/bin/python scripts/ops_seen_in_fixtures.py
"""
import collections
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sampan.formats.framework_pb2 import AttrType  # noqa: E402
from sampan.formats.pdmodel import decode_program  # noqa: E402
from sampan.formats.pir_json import _SIMPLE, _attr_value  # noqa: E402

FIX = os.path.join(ROOT, "tests", "fixtures", "paddle")
COMMON = {"op_device", "op_namescope", "op_role", "op_role_var", "op_callstack", "with_quant_attr"}


def _fmt(v):
    if isinstance(v, float):
        return repr(v)
    return json.dumps(v) if not isinstance(v, str) else repr(v)


def legacy_table():
    seen = collections.OrderedDict()
    for path in sorted(glob.glob(os.path.join(FIX, "*", "**", "*.pdmodel"), recursive=True)):
        flavour = os.path.relpath(path, FIX).split(os.sep)[0]
        if flavour.endswith("pir"):
            continue
        prog = decode_program(open(path, "rb").read())
        for op in prog.global_block().ops:
            e = seen.setdefault(op.type, {"in": collections.Counter(), "out": collections.Counter(),
                                          "attrs": collections.OrderedDict(), "where": set()})
            e["where"].add(flavour)
            for s, names in op.inputs.items():
                e["in"][f"{s}[{len(names)}]"] += 1
            for s, names in op.outputs.items():
                e["out"][f"{s}[{len(names)}]"] += 1
            for name, value in op.attrs.items():
                if name in COMMON:
                    continue
                t = AttrType.Name(op.attr_types[name])
                vals = e["attrs"].setdefault((name, t), [])
                if _fmt(value) not in vals:
                    vals.append(_fmt(value))
    return seen


def pir_table():
    seen = collections.OrderedDict()
    for path in sorted(glob.glob(os.path.join(FIX, "3.3.1-pir", "**", "*"), recursive=True)):
        if not (path.endswith(".json") or path.endswith(".pdmodel")) or "MANIFEST" in path:
            continue
        d = json.load(open(path))
        for op in d["program"]["regions"][0]["blocks"][0]["ops"]:
            e = seen.setdefault(op["#"], {"n": collections.Counter(), "attrs": collections.OrderedDict()})
            if op["#"] == "p":
                e["n"]["A=[is_distributed, is_parameter, need_clip, name], 1 result"] += 1
                continue
            e["n"][f"{len(op.get('I', []))} operands -> {len(op.get('O', []))} results"] += 1
            for a in op.get("A", []):
                if a["N"] == "struct_name":
                    continue
                at = a["AT"]
                tid = at["#"]
                if tid == "0.a_array" and at["D"]:
                    tid += " of " + at["D"][0]["#"]
                vals = e["attrs"].setdefault((a["N"], tid), [])
                v = json.dumps(_attr_value(at))
                if v not in vals:
                    vals.append(v)
    return seen


SPECIAL_NOTE = {
    "p": "a persistable var named after `A[3]` (no op)",
    "1.data": "`feed` (X=[feed], Out=[name], col)",
    "1.fetch": "`fetch` (X=[var], Out=[fetch], col)",
    "1.full": "folded into the consumer's attribute, else `fill_constant`",
    "1.full_int_array": "folded into the consumer's attribute, else `assign_value`",
    "0.combine": "a list of names for a duplicable slot (no op)",
    "1.batch_norm_": "`batch_norm` (MeanOut/VarianceOut = the Mean/Variance vars)",
    "1.reshape": "`reshape2` (shape attr from the constant; XShape output)",
    "1.scale": "`scale` (scale attr from the constant, else ScaleTensor)",
    "1.dropout": "`dropout` (dropout_prob from the constant; Mask only when read)",
    "1.pool2d": "`pool2d` (ksize from the constant; use_cudnn = not adaptive)",
    "1.mean": "`reduce_mean` (dim from the constant, reduce_all, in/out_dtype -1)",
    "1.concat": "`concat` (axis from the constant)",
}

NOTES = """## Facts for kernel authors

* Empty slots are present in the files and must be accepted: `reshape2` Shape/ShapeTensor, `scale`
  ScaleTensor, `dropout` Seed, `batch_norm` MomentumTensor (all bound to no variable).
* Optional outputs are often absent in inference programs: `transpose2` and `flatten_contiguous_range`
  have no XShape, `dropout` no Mask, `batch_norm` no ReserveSpace. `reshape2` does write XShape
  (a var of shape `[0, *x.shape]`).
* `batch_norm` updates in place: MeanOut/VarianceOut name the same vars as Mean/Variance. SavedMean /
  SavedVariance vars carry a 0-d (`[]`) desc in the 2.6.2 files whatever their real size.
* FLOAT attributes are float32 on disk: `epsilon` reads back as 9.999999747378752e-06 and `momentum` as
  0.8999999761581421; compare with a tolerance. `lookup_table_v2.padding_idx` is a LONG (-1 = none).
* `reshape2.shape` may contain 0 (copy the input dim) and -1 (infer); `flatten_contiguous_range.stop_axis`
  is already resolved (3, not -1); `layer_norm.begin_norm_axis` = x.ndim - len(normalized_shape).
* Training programs (misc/program.pdmodel) carry extra attrs kernels must ignore: `use_mkldnn`,
  `mkldnn_data_type`, `Scale_x`/`Scale_y`/`Scale_out`, `use_quantizer`, and in 3.3.1 `use_onednn`,
  `onednn_data_type`, `force_fp32_output`; every op also has the common `op_*` attrs.
* `dropout` with is_test=True and `upscale_in_train` is the identity; `pool2d` always has `use_cudnn`.
"""


def main():
    lines = ["# Ops seen in the Paddle fixture programs", "",
             "Generated by `scripts/ops_seen_in_fixtures.py` from `tests/fixtures/paddle/` (do not edit by hand).",
             "Common attributes (`op_device`, `op_namescope`, `op_role`, `op_role_var`, `op_callstack`,",
             "`with_quant_attr`) are left out. Slot `X[n]` = slot bound to n variables (`[0]` = present but empty).",
             "", "## Legacy ProgramDesc (2.6.2, 3.3.1-legacy)", "",
             "| op type | input slots | output slots | attributes: name (AttrType) = values seen | flavours |",
             "|---|---|---|---|---|"]
    for t, e in legacy_table().items():
        attrs = "<br>".join(f"`{n}` ({ty}) = {', '.join(v)}" for (n, ty), v in e["attrs"].items()) or "-"
        lines.append(f"| `{t}` | {', '.join(sorted(e['in']))} | {', '.join(sorted(e['out']))} | {attrs} | "
                     f"{', '.join(sorted(e['where']))} |")
    lines += ["", "## PIR json (3.3.1-pir)", "",
              "`struct_name` attributes are left out. Operands/results are positional.",
              "The translation to legacy ops is in `sampan/formats/pir_json.py`.", "",
              "| op id | arity | attributes: name (PIR attr id) = values seen | legacy op(s) after translation |",
              "|---|---|---|---|"]
    for t, e in pir_table().items():
        attrs = "<br>".join(f"`{n}` ({ty}) = {', '.join(v)}" for (n, ty), v in e["attrs"].items()) or "-"
        legacy = f"`{_SIMPLE[t][0]}`" if t in _SIMPLE else SPECIAL_NOTE.get(t, "see pir_json.py")
        lines.append(f"| `{t}` | {'; '.join(sorted(e['n']))} | {attrs} | {legacy} |")
    lines += ["", NOTES]
    out = os.path.join(ROOT, "docs", "ops_seen_in_fixtures.md")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
