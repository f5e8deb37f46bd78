"""Test-only helpers: read a ``.pdiparams`` and run a decoded Program through the op registry.

This is deliberately tiny -- the Executor lives in ``sampan.static`` -- so that the codec tests can
show that decoded programs compute what Paddle computed, with nothing between the IR and the
kernels. The stream reader follows FORMATS.md section 3.1 and knows only what these tests need.
"""
from __future__ import annotations

import struct

import numpy as np

from sampan.core.dtype import BY_PROTO
from sampan.formats import framework_pb2 as pb
from sampan.ops.registry import get_op, has_op
from sampan.static.program import VarType

IO_OPS = ("feed", "fetch")


def read_pdiparams(data: bytes, names):
    """Split a ``.pdiparams`` (concatenated DenseTensor streams) into ``{name: ndarray}``."""
    out, pos = {}, 0
    for name in names:
        (version,) = struct.unpack_from("<I", data, pos)
        assert version == 0, f"{name}: DenseTensor version {version}"
        (lod_levels,) = struct.unpack_from("<Q", data, pos + 4)
        pos += 12
        for _ in range(lod_levels):
            (n,) = struct.unpack_from("<Q", data, pos)
            pos += 8 + n
        _tver, desc_len = struct.unpack_from("<Ii", data, pos)
        pos += 8
        desc = pb.VarType.TensorDesc()
        desc.ParseFromString(data[pos:pos + desc_len])
        pos += desc_len
        dtype = BY_PROTO[desc.data_type].np
        shape = tuple(desc.dims)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        out[name] = np.frombuffer(data, dtype=dtype, count=nbytes // dtype.itemsize, offset=pos).reshape(shape).copy()
        pos += nbytes
    assert pos == len(data), f"{len(data) - pos} bytes left after {len(names)} tensors"
    return out


def persistable_names(program):
    """The ``.pdiparams`` order: persistable vars except feed/fetch/RAW, sorted (FORMATS.md section 3.2)."""
    skip = {VarType.FEED_MINIBATCH, VarType.FETCH_LIST, VarType.RAW, VarType.READER}
    return sorted(v.name for v in program.global_block().vars.values() if v.persistable and v.type not in skip)


def missing_ops(program):
    return sorted({op.type for op in program.global_block().ops if op.type not in IO_OPS and not has_op(op.type)})


def run(program, params, feeds):
    """Run block 0: ``feeds`` maps feed target names to arrays; returns the fetched arrays by column."""
    scope = dict(params)
    fetched = {}
    for op in program.global_block().ops:
        if op.type == "feed":
            scope[op.output("Out")[0]] = feeds[op.output("Out")[0]]
            continue
        if op.type == "fetch":
            fetched[op.attrs["col"]] = scope[op.input("X")[0]]
            continue
        od = get_op(op.type)
        ins = {}
        for slot in od.inputs:
            arrays = [scope[n] for n in op.inputs.get(slot.name, [])]
            ins[slot.name] = arrays if slot.duplicable else (arrays[0] if arrays else None)
        outs = od.forward(ins, od.fill_attrs(op.attrs))
        for slot, names in op.outputs.items():
            value = outs.get(slot)
            if value is None or not names:
                continue
            for n, v in zip(names, value if isinstance(value, list) else [value]):
                scope[n] = np.asarray(v)
    return [fetched[c] for c in sorted(fetched)]
