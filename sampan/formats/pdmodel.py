"""The legacy ``.pdmodel`` codec: ProgramDesc protobuf bytes <-> ``sampan.static.program.Program``.

The schema is ``framework.proto`` (FORMATS.md sections 2.2-2.3), compiled into ``framework_pb2``.
The mapping is one to one: op types, slot names, attribute names and attribute types are kept as
Paddle wrote them, so ``decode_program`` followed by ``encode_program`` reproduces a file byte for
byte (checked on every ProgramDesc fixture of Paddle 2.6.2 and 3.3.1-legacy). What makes that
possible:

* order: blocks, vars, ops, slots and attributes keep the file order (dicts keep insertion order);
* presence: optional fields that were absent stay ``None`` in the IR (``lod_level``,
  ``need_check_feed``, ``is_parameter``, ``stop_gradient``, ``is_target``, ``forward_block_idx``,
  ``Program.version``, ``Program.op_version_map``); a var without ``persistable`` is marked in
  ``Variable.extra['pdmodel_persistable_absent']``;
* attribute types: ``Operator.attr_types`` holds the ``AttrType`` code of every attribute;
* anything the IR does not model (a ``VarType`` the IR cannot express, e.g. READER or TUPLE) is
  kept as raw bytes in ``Variable.extra['pdmodel_vartype']`` together with the IR fields it was
  decoded into, and re-used only while those fields are unchanged.

Programs that sampan builds itself are written with ``encode_program(program, canonical=True)``,
which follows what Paddle writes for inference programs (FORMATS.md section 2.4): vars sorted by
name with ``feed`` and ``fetch`` last, slots and attributes sorted by name, ``persistable`` always
written, ``legacy_lod_level = 0`` on non-persistable dense tensors that carry no value of their own,
every attribute the op registry declares for the op (Paddle's loaders need them all, section 2.6),
and version 2006002 unless the Program carries one. ``add_common_attrs`` adds the boilerplate
attributes (``op_device``, ``op_namescope``, ``op_role``, ``op_role_var``; ``op_callstack`` and
``with_quant_attr`` on feed/fetch) that Paddle's inference programs have.

Example:
    >>> from sampan.formats.pdmodel import decode_program, encode_program
    >>> data = open("tests/fixtures/paddle/2.6.2/linear/jit/model.pdmodel", "rb").read()
    >>> prog = decode_program(data)
    >>> [op.type for op in prog.global_block().ops]
    ['feed', 'matmul_v2', 'elementwise_add', 'scale', 'fetch']
    >>> encode_program(prog) == data
    True
"""
from __future__ import annotations

from google.protobuf.message import DecodeError, EncodeError

from ..core.dtype import BY_PROTO
from ..static.program import Block, Operator, Program, Variable, VarType
from . import framework_pb2 as pb
from .errors import CorruptFileError, FormatMismatchError

__all__ = ["decode_program", "encode_program", "add_common_attrs", "ProgramDescError", "ProgramEncodeError",
           "DEFAULT_VERSION", "ATTR_FIELD", "infer_attr_type"]

DEFAULT_VERSION = 2006002    # Paddle 2.6.2 (major * 1_000_000 + minor * 1000 + patch)

# AttrType code -> the OpDesc.Attr field holding the value (FORMATS.md section 2.3)
ATTR_FIELD = {
    0: "i", 1: "f", 2: "s", 3: "ints", 4: "floats", 5: "strings", 6: "b", 7: "bools",
    8: "block_idx", 9: "l", 10: "blocks_idx", 11: "longs", 12: "float64s", 13: "var_name",
    14: "vars_name", 15: "float64", 16: "scalar", 17: "scalars",
}
_ATTR_NAME = {code: pb.AttrType.Name(code) for code in ATTR_FIELD}
_REPEATED = {3, 4, 5, 7, 10, 11, 12, 14, 17}
_VAR_ATTR_FIELD = {0: "i", 2: "s", 3: "ints"}     # VarDesc.Attr has only these three

# VarType kinds whose tensor description maps onto Variable.shape / dtype / lod_level
_DESC_FIELD = {VarType.DENSE_TENSOR: "dense_tensor", VarType.DENSE_TENSOR_ARRAY: "tensor_array",
               VarType.SELECTED_ROWS: "selected_rows"}
_NO_DESC = {VarType.FEED_MINIBATCH, VarType.FETCH_LIST, VarType.STEP_SCOPES, VarType.LOD_RANK_TABLE,
            VarType.PLACE_LIST, VarType.RAW}

# Paddle's boilerplate attributes of inference programs (FORMATS.md section 2.4)
_COMMON_ATTRS = (("op_device", 2, ""), ("op_namescope", 2, "/"), ("op_role", 0, 0), ("op_role_var", 5, []))
_FEED_FETCH_ATTRS = (("op_callstack", 5, []), ("with_quant_attr", 6, False))


class ProgramDescError(CorruptFileError):
    """Bytes that are not a valid ProgramDesc (a ``ValueError``; ``.path`` names the file when known)."""


class ProgramEncodeError(ValueError):
    """A Program that cannot be written as a ProgramDesc (names the op/variable and attribute)."""


# ============================================================================ decoding
def decode_program(data: bytes, path=None) -> Program:
    """Parse serialized ProgramDesc bytes (a legacy ``.pdmodel`` / ``__model__``) into a Program.

    Args:
        data: the file's bytes.
        path: the file name, used in error messages only.

    Raises:
        ProgramDescError: the bytes are not a ProgramDesc (truncated, corrupt, empty).
        FormatMismatchError: the bytes are a PIR json program.
    """
    data = bytes(data)
    # no lstrip(): a ProgramDesc starts with 0x0a (= '\n'), and a first block of 123 bytes puts '{' next
    if data[:1] == b"{":
        raise FormatMismatchError(
            "this is a Paddle 3.x PIR program (json), not a ProgramDesc protobuf; read it with "
            "sampan.formats.pir_json.decode_pir_program", path)
    desc = pb.ProgramDesc()
    try:
        desc.ParseFromString(data)
    except DecodeError as e:
        raise ProgramDescError(f"not a valid ProgramDesc protobuf ({len(data)} bytes; truncated or corrupt "
                               f"file?): {e}", path) from None
    if not desc.IsInitialized():
        missing = desc.FindInitializationErrors()
        raise ProgramDescError(f"the ProgramDesc lacks required fields ({', '.join(missing[:5])}"
                               f"{', ...' if len(missing) > 5 else ''}); corrupt file?", path)
    if not desc.blocks:
        raise ProgramDescError(f"the ProgramDesc ({len(data)} bytes) has no blocks; the file is empty or not "
                               "a Paddle program", path)
    program = Program()
    try:
        program.blocks = [_decode_block(program, b) for b in desc.blocks]
    except ProgramDescError as e:
        raise ProgramDescError(e.reason, path) from None
    program.version = desc.version.version if desc.HasField("version") else None
    program.op_version_map = ([(p.op_name, p.op_version.version) for p in desc.op_version_map.pair]
                              if desc.HasField("op_version_map") else None)
    return program


def _decode_block(program, bd) -> Block:
    block = Block(program, bd.idx, bd.parent_idx)
    block.forward_block_idx = bd.forward_block_idx if bd.HasField("forward_block_idx") else None
    for vd in bd.vars:
        if vd.name in block.vars:
            raise ProgramDescError(f"block {bd.idx} declares variable {vd.name!r} twice.")
        block.vars[vd.name] = _decode_var(block, vd)
    for i, od in enumerate(bd.ops):
        block.ops.append(_decode_op(block, od, i))
    return block


def _opt(msg, field):
    return getattr(msg, field) if msg.HasField(field) else None


def _decode_var(block, vd) -> Variable:
    vt = vd.type
    shape = dtype = lod_level = None
    field = _DESC_FIELD.get(vt.type)
    if field is not None and vt.HasField(field):
        sub = getattr(vt, field)
        tensor = sub if field == "selected_rows" else sub.tensor
        shape = list(tensor.dims)
        dtype = BY_PROTO.get(tensor.data_type)      # None for codes without a NumPy dtype (FP8 ...)
        if field != "selected_rows":
            lod_level = _opt(sub, "legacy_lod_level")
    attrs = [(a.name, a.type, _attr_value(a, _VAR_ATTR_FIELD.get(a.type), a.type in (3,))) for a in vd.attrs]
    v = Variable(block, vd.name, shape, dtype, vt.type, vd.persistable, _opt(vd, "stop_gradient"),
                 _opt(vd, "is_parameter"), _opt(vd, "need_check_feed"), lod_level, attrs)
    if not vd.HasField("persistable"):
        v.extra["pdmodel_persistable_absent"] = True
    raw = vt.SerializeToString()
    if _encode_vartype(v).SerializeToString() != raw:
        # the IR cannot express this VarType: keep its bytes (valid while the IR fields are unchanged)
        v.extra["pdmodel_vartype"] = (raw, _vartype_key(v))
    return v


def _decode_op(block, od, index) -> Operator:
    inputs, outputs = {}, {}
    for slots, vars_ in ((inputs, od.inputs), (outputs, od.outputs)):
        for var in vars_:
            if var.parameter in slots:
                raise ProgramDescError(f"op {index} ({od.type}) of block {block.idx} has "
                                       f"slot {var.parameter!r} twice.")
            slots[var.parameter] = list(var.arguments)
    attrs, types = {}, {}
    for a in od.attrs:
        if a.type not in ATTR_FIELD:
            raise ProgramDescError(f"op {index} ({od.type}) attribute {a.name!r} has "
                                   f"unknown AttrType {a.type}.")
        attrs[a.name] = _attr_value(a, ATTR_FIELD[a.type], a.type in _REPEATED)
        types[a.name] = a.type
    return Operator(block, od.type, inputs, outputs, attrs, types, _opt(od, "is_target"))


def _attr_value(a, field, repeated):
    if field is None:
        return None
    if field == "scalar":
        return _scalar_value(a.scalar)
    if field == "scalars":
        return [_scalar_value(s) for s in a.scalars]
    return list(getattr(a, field)) if repeated else getattr(a, field)


def _scalar_value(s):
    if s.type == pb.Scalar.BOOLEAN:
        return bool(s.b)
    if s.type == pb.Scalar.LONG:
        return int(s.i)
    if s.type == pb.Scalar.FLOAT64:
        return float(s.r)
    return complex(s.c.r, s.c.i)


# ============================================================================ encoding
def encode_program(program: Program, canonical: bool = False) -> bytes:
    """Serialize a Program as ProgramDesc bytes.

    Args:
        program: the Program.
        canonical: ``False`` (default) writes exactly what the IR holds, in IR order: a Program from
            ``decode_program`` comes back byte for byte. ``True`` writes the way Paddle writes new
            inference programs (sorted vars/slots/attrs, defaults filled in; see the module docstring);
            use it for programs sampan builds. The Program is not modified in either case.

    Raises:
        ProgramEncodeError: an attribute or variable cannot be represented (names the op and attribute).
    """
    desc = pb.ProgramDesc()
    for block in program.blocks:
        _encode_block(desc.blocks.add(), block, canonical)
    version = program.version
    if version is None and canonical:
        version = DEFAULT_VERSION
    if version is not None:
        desc.version.version = int(version)
    if program.op_version_map is not None:
        desc.op_version_map.SetInParent()
        for name, ver in program.op_version_map:
            pair = desc.op_version_map.pair.add()
            pair.op_name = name
            pair.op_version.version = int(ver)
    try:
        return desc.SerializeToString()
    except EncodeError as e:    # a required field left unset
        raise ProgramEncodeError(f"encode_program: the program is incomplete: {e}") from None


def _var_order(v):
    kind = {VarType.FEED_MINIBATCH: 1, VarType.FETCH_LIST: 2}.get(v.type, 0)
    return (kind, v.name)


def _encode_block(bd, block, canonical):
    bd.idx = block.idx
    bd.parent_idx = block.parent_idx
    if block.forward_block_idx is not None:
        bd.forward_block_idx = block.forward_block_idx
    variables = list(block.vars.values())
    if canonical:
        variables.sort(key=_var_order)
    for v in variables:
        _encode_var(bd.vars.add(), v, canonical)
    for i, op in enumerate(block.ops):
        _encode_op(bd.ops.add(), op, canonical, block.idx, i)


def _vartype_key(v):
    return (v.type, None if v.shape is None else tuple(v.shape), v.dtype, v.lod_level)


def _encode_vartype(v, lod_default=None):
    vt = pb.VarType()
    vt.type = v.type
    field = _DESC_FIELD.get(v.type)
    if field is None or v.dtype is None:
        return vt
    sub = getattr(vt, field)
    tensor = sub if field == "selected_rows" else sub.tensor
    tensor.data_type = v.dtype.proto
    tensor.dims.extend(int(d) for d in (v.shape or []))
    lod = v.lod_level if v.lod_level is not None else lod_default
    if field != "selected_rows" and lod is not None:
        sub.legacy_lod_level = int(lod)
    return vt


def _encode_var(vd, v, canonical):
    vd.name = v.name
    raw = v.extra.get("pdmodel_vartype")
    if raw is not None and raw[1] == _vartype_key(v):
        vd.type.ParseFromString(raw[0])
    else:
        if v.type not in _DESC_FIELD and v.type not in _NO_DESC:
            raise ProgramEncodeError(f"encode_program: variable {v.name!r} has VarType {v.type}, which the IR "
                                     "cannot describe (only dense tensors, tensor arrays, selected rows, "
                                     "feed/fetch lists and descriptor-less kinds are written).")
        if v.dtype is None and v.shape is not None and v.type in _DESC_FIELD:
            raise ProgramEncodeError(f"encode_program: variable {v.name!r} has shape {v.shape} but no dtype; "
                                     "a tensor description needs one.")
        lod_default = 0 if canonical and not v.persistable and v.type == VarType.DENSE_TENSOR else None
        vd.type.CopyFrom(_encode_vartype(v, lod_default))
    if canonical or v.persistable or not v.extra.get("pdmodel_persistable_absent"):
        vd.persistable = bool(v.persistable)
    for field in ("need_check_feed", "is_parameter"):
        if getattr(v, field) is not None:
            setattr(vd, field, bool(getattr(v, field)))
    if v._stop_gradient is not None:
        vd.stop_gradient = bool(v._stop_gradient)
    for item in v.attrs:
        name, code, value = item
        if code not in _VAR_ATTR_FIELD:
            raise ProgramEncodeError(f"encode_program: variable {v.name!r} attribute {name!r}: VarDesc "
                                     f"attributes can be INT, STRING or INTS, not {_ATTR_NAME.get(code, code)}.")
        a = vd.attrs.add()
        a.name, a.type = name, code
        _set_attr_field(a, _VAR_ATTR_FIELD[code], code, value, f"variable {v.name!r}")


def _encode_op(od, op, canonical, block_idx, index):
    where = f"op {index} ({op.type}) of block {block_idx}"
    for slots, target in ((op.inputs, od.inputs), (op.outputs, od.outputs)):
        for slot in (sorted(slots) if canonical else slots):
            var = target.add()
            var.parameter = slot
            var.arguments.extend(slots[slot])
    od.type = op.type
    attrs, types = dict(op.attrs), dict(op.attr_types)
    if canonical:
        spec = _registry_attrs(op.type)
        for name, s in spec.items():
            if name not in attrs:
                attrs[name], types[name] = s.default, s.code
    for name in (sorted(attrs) if canonical else attrs):
        value = attrs[name]
        code = types.get(name)
        if code is None:
            code = infer_attr_type(op.type, name, value)
        a = od.attrs.add()
        a.name, a.type = name, code
        _set_attr_field(a, ATTR_FIELD[code], code, value, f"{where} attribute {name!r}")
    if op.is_target is not None:
        od.is_target = bool(op.is_target)


def _set_attr_field(a, field, code, value, where):
    try:
        if field == "scalar":
            _set_scalar(a.scalar, value)
        elif field == "scalars":
            for x in value:
                _set_scalar(a.scalars.add(), x)
        elif code in _REPEATED:
            getattr(a, field).extend(_plain(x) for x in value)
        else:
            setattr(a, field, _plain(value))
    except (TypeError, ValueError) as e:
        raise ProgramEncodeError(f"encode_program: {where} of type {_ATTR_NAME.get(code, code)} cannot hold "
                                 f"{value!r}: {e}") from None


def _plain(x):
    """NumPy scalars -> Python scalars (protobuf accepts only the latter for some fields)."""
    return x.item() if hasattr(x, "item") and not isinstance(x, (str, bytes)) else x


def _set_scalar(s, value):
    value = _plain(value)
    if isinstance(value, bool):
        s.type, s.b = pb.Scalar.BOOLEAN, value
    elif isinstance(value, int):
        s.type, s.i = pb.Scalar.LONG, value
    elif isinstance(value, float):
        s.type, s.r = pb.Scalar.FLOAT64, value
    elif isinstance(value, complex):
        s.type = pb.Scalar.COMPLEX128
        s.c.r, s.c.i = value.real, value.imag
    else:
        raise TypeError(f"a Scalar is a bool, int, float or complex, not {type(value).__name__}")


def _registry_attrs(op_type):
    from ..ops.registry import UnknownOpError, get_op
    try:
        return get_op(op_type).attrs
    except UnknownOpError:
        return {}


_INT32 = (-(1 << 31), (1 << 31) - 1)


def infer_attr_type(op_type: str, name: str, value) -> int:
    """The AttrType code for an attribute without a recorded type: the registry's, else from the value."""
    spec = _registry_attrs(op_type).get(name)
    if spec is not None:
        return spec.code
    value = _plain(value)
    if isinstance(value, bool):
        return 6
    if isinstance(value, int):
        return 0 if _INT32[0] <= value <= _INT32[1] else 9
    if isinstance(value, float):
        return 1
    if isinstance(value, str):
        return 2
    if isinstance(value, (list, tuple)):
        items = [_plain(x) for x in value]
        if not items:
            return 3 if not name.startswith("op_") else 5
        if all(isinstance(x, bool) for x in items):
            return 7
        if all(isinstance(x, int) for x in items):
            return 3 if all(_INT32[0] <= x <= _INT32[1] for x in items) else 11
        if all(isinstance(x, (int, float)) for x in items):
            return 4
        if all(isinstance(x, str) for x in items):
            return 5
    raise ProgramEncodeError(f"encode_program: op {op_type!r} attribute {name!r} = {value!r} has no recorded "
                             "AttrType and none can be inferred; set Operator.attr_types[name].")


# ============================================================================ helpers for writers
def add_common_attrs(program: Program) -> Program:
    """Add Paddle's boilerplate op attributes where missing (in place; returns the program).

    Every op gets ``op_device=""``, ``op_namescope="/"``, ``op_role=0``, ``op_role_var=[]``; ``feed``
    and ``fetch`` ops also ``op_callstack=[]`` and ``with_quant_attr=False`` -- the set Paddle 2.6.2 and
    3.3.1 write in inference programs (FORMATS.md section 2.4; ``op_callstack`` holds a Python traceback
    in Paddle's files, sampan writes it empty).
    """
    for block in program.blocks:
        for op in block.ops:
            extra = _FEED_FETCH_ATTRS if op.type in ("feed", "fetch") else ()
            for name, code, default in _COMMON_ATTRS + extra:
                if name not in op.attrs:
                    op.attrs[name] = list(default) if isinstance(default, list) else default
                    op.attr_types[name] = code
    return program
