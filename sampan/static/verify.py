"""``Program.verify()``: run every op's infer_meta and report problems by op index."""
from __future__ import annotations

from ..ops.registry import get_op, UnknownOpError
from ..core.dispatch import infer_meta
from .program import ProgramVerifyError


def verify_program(program):
    problems = []
    for b in program.blocks:
        for i, o in enumerate(b.ops):
            if o.type in ("feed", "fetch"):
                continue
            try:
                od = get_op(o.type)
            except UnknownOpError:
                problems.append(f"block {b.idx} op {i}: unknown op type {o.type!r}")
                continue
            in_vars, bad = {}, False
            for s in od.inputs:
                names = o.inputs.get(s.name, [])
                vs = []
                for n in names:
                    v = b._find_var_recursive(n)
                    if v is None:
                        problems.append(f"block {b.idx} op {i} ({o.type}): input {s.name} names missing variable {n!r}")
                        bad = True
                    else:
                        vs.append(v)
                if not names and not s.optional:
                    problems.append(f"block {b.idx} op {i} ({o.type}): required input slot {s.name} is empty")
                    bad = True
                in_vars[s.name] = vs
            if bad:
                continue
            try:
                metas = infer_meta(od, in_vars, od.fill_attrs(o.attrs))
            except Exception as e:  # noqa: BLE001 - reported, not raised one by one
                problems.append(f"block {b.idx} op {i} ({o.type}): {e}")
                continue
            for slot, m in metas.items():
                for n, mm in zip(o.outputs.get(slot, []), m if isinstance(m, list) else [m]):
                    v = b._find_var_recursive(n)
                    if v is None or mm is None or v.shape is None:
                        continue
                    shape = mm[0]
                    if len(shape) != len(v.shape) or any(a >= 0 and c >= 0 and a != c for a, c in zip(shape, v.shape)):
                        problems.append(f"block {b.idx} op {i} ({o.type}): output {slot} {n!r} declared "
                                        f"{v.shape}, inferred {list(shape)}")
    if problems:
        raise ProgramVerifyError(problems)
    return True
