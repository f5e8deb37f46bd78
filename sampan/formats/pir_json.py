"""Paddle 3.x PIR program json (``model.json``, FORMATS.md section 5) -> the legacy Program IR.

PIR programs are SSA: ops take operand *values* and produce result values; constants are ops
(``1.full``, ``1.full_int_array``) whose results feed tensor-valued inputs (reshape's shape, scale's
factor, pool2d's kernel size ...). The decoder translates every ``pd_op`` op into the legacy op
Paddle 2.x writes for the same layer (FORMATS.md section 6): ``1.matmul`` -> ``matmul_v2``
(``trans_x``/``trans_y``), ``1.add`` -> ``elementwise_add`` (``axis=-1``), ``1.reshape`` ->
``reshape2`` with the constant folded into its ``shape`` attribute, ``1.batch_norm_`` -> ``batch_norm``
(``MeanOut``/``VarianceOut`` bound to the running-stat vars), ``1.data`` -> a ``feed`` op,
``1.fetch`` -> a ``fetch`` op, ... so one Executor runs programs of both generations, and a
translated program can be written as a ``.pdmodel``.

Names: parameters keep their ``p`` names (``linear_0.w_0``; a name written by several ``p`` ops is
one variable), inputs the ``name`` of their ``1.data`` op, other values get
``<legacy op type>_<n>.tmp_<k>``. Constants that feed a tensor input which the legacy op cannot take
as an attribute are materialised as ``fill_constant`` / ``assign_value`` ops. An op without a
translation raises ``UnsupportedPirOpError`` naming the op, its index and its operands. Only decoding
exists: sampan writes programs as ``.pdmodel``.

IntArray operands (shapes, starts/ends, axes, repeat times) come in three forms, bound as Paddle 2
bound them: a constant -> the attribute; a ``0.combine`` of scalars, possibly through ``1.stack`` (how
Paddle 3 builds ``[batch, -1]``) -> the legacy ``*TensorList`` slot, with the known values (-1 for
run-time ones) in the attribute; a run-time 1-D tensor -> the ``*Tensor`` slot. ``0.combine`` operands
and ``1.stack`` are therefore resolved when read: a stack that something reads as a tensor is emitted
then. Other conventions: ``1.shape64`` -> ``shape`` (int32, the only legacy shape op) + ``cast`` to
int64; ``1.full_with_tensor`` -> ``fill_constant`` with its shape slots; ``1.rnn`` -> ``rnn``, its
``DropoutState`` output bound to the dropout-state variable (as Paddle 2 wrote it) and its state
vector taken apart by ``0.split``.

Example:
    >>> from sampan.formats.pir_json import load_pir_json
    >>> m = load_pir_json(open("tests/fixtures/paddle/3.3.1-pir/linear/jit/model.json", "rb").read())
    >>> [op.type for op in m.program.global_block().ops]
    ['feed', 'matmul_v2', 'elementwise_add', 'fetch']
    >>> m.parameter_names          # the order of the tensors in model.pdiparams
    ['linear_0.b_0', 'linear_0.w_0']
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..core.dtype import BY_NAME, convert_dtype
from ..ops.registry import ATTR_TYPES
from ..static.program import Program, VarType
from .errors import CorruptFileError, FormatError, FormatMismatchError

__all__ = ["decode_pir_program", "load_pir_json", "PirModel", "PirFormatError", "UnsupportedPirOpError",
           "supported_pir_ops", "PIR_VERSION"]

PIR_VERSION = 4    # the serialization version of Paddle 3.3.1 (the only one tested)

_ELEM = {"0.t_f16": "float16", "0.t_bf16": "bfloat16", "0.t_f32": "float32", "0.t_f64": "float64",
         "0.t_i8": "int8", "0.t_ui8": "uint8", "0.t_i16": "int16", "0.t_i32": "int32", "0.t_i64": "int64",
         "0.t_bool": "bool", "0.t_c64": "complex64", "0.t_c128": "complex128"}


class PirFormatError(CorruptFileError):
    """Bytes that are not a PIR program json sampan can read (a ``ValueError``)."""


class UnsupportedPirOpError(FormatError):
    """A valid PIR program using an op (or construct) that has no translation into the legacy IR."""


@dataclass
class PirModel:
    """A decoded PIR program and what the file says about its inputs, outputs and parameters."""
    program: Program
    parameter_names: list = field(default_factory=list)   # sorted persistable ``p`` names = .pdiparams order
    feed_names: list = field(default_factory=list)        # ``1.data`` names, by feed column
    fetch_names: list = field(default_factory=list)       # var names fetched, by fetch column
    fetch_aliases: list = field(default_factory=list)     # the ``name`` attrs of ``1.fetch`` (fetch_name_<i>)
    version: int = PIR_VERSION


def decode_pir_program(data, path=None) -> Program:
    """Translate PIR json bytes (or str) into a Program of legacy ops. See ``load_pir_json``.

    The program keeps ``_fetch_aliases``: Paddle 3's output names (``fetch_name_<i>``) by fetch column."""
    model = load_pir_json(data, path)
    model.program._fetch_aliases = list(model.fetch_aliases)
    return model.program


def load_pir_json(data, path=None) -> PirModel:
    """Parse a Paddle 3.x PIR program json and translate it into the legacy IR.

    Args:
        data: the file's bytes (or text).
        path: the file name, used in error messages only.

    Raises:
        FormatMismatchError: the bytes are not text (a legacy ProgramDesc protobuf, say).
        PirFormatError: not json, wrong magic, unexpected structure (the message says where).
        UnsupportedPirOpError: an op without a translation (names the op id, index and operands).
    """
    try:
        return _load(data)
    except FormatError as e:
        if path is None or e.path is not None:
            raise
        raise type(e)(e.reason, path, e.offset) from None


def _load(data) -> PirModel:
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        if data.lstrip(b" \t\r")[:1] != b"{":    # not lstrip(): '\n' is also how a ProgramDesc starts
            raise FormatMismatchError("not a PIR json program (it does not start with '{'); a legacy "
                                      ".pdmodel is a protobuf, read it with sampan.formats.pdmodel.decode_program")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise PirFormatError("PIR json: not UTF-8 text", None, e.start) from None
    try:
        obj = json.loads(data)
    except json.JSONDecodeError as e:
        raise PirFormatError(f"PIR json: invalid json (line {e.lineno}, column {e.colno}): {e.msg}; truncated "
                             "or corrupt file?", None, e.pos) from None
    base = obj.get("base_code") if isinstance(obj, dict) else None
    if not isinstance(base, dict) or base.get("magic") != "pir":
        raise PirFormatError("PIR json: base_code.magic is not 'pir'; this json is not a Paddle PIR program.")
    version = base.get("version")
    if not isinstance(version, int) or version < 1:
        raise PirFormatError(f"PIR json: base_code.version must be a positive int, got {version!r}.")
    ops = [_PirOp.parse(raw, index) for index, raw in enumerate(_top_block_ops(obj))]
    tr = _Translator(Program())
    tr.used = {vid for op in ops for vid in op.operands}
    for op in ops:
        tr.translate(op)
    return tr.finish(version)


def supported_pir_ops() -> list:
    """The PIR op ids this module translates."""
    return sorted(set(pir_ops._SIMPLE) | set(pir_ops._SPECIAL))


def _top_block_ops(obj):
    try:
        regions = obj["program"]["regions"]
        block = regions[0]["blocks"][0]
        ops = block["ops"]
    except (KeyError, IndexError, TypeError):
        raise PirFormatError("PIR json: expected program.regions[0].blocks[0].ops.") from None
    if len(regions) != 1 or len(regions[0]["blocks"]) != 1 or block.get("args") or block.get("kwargs"):
        raise PirFormatError("PIR json: programs with several regions/blocks or block arguments "
                             "(control flow) are not supported yet.")
    return ops


# ============================================================================ values, types, attrs
def _type_info(tt):
    """(dtype name, shape) of a dense-tensor type, or ('vec', [element types]) of a vector type."""
    if not isinstance(tt, dict):
        return None, None
    tid = tt.get("#")
    if tid == "0.t_dtensor":
        d = tt["D"]
        return _ELEM.get(d[0].get("#")), [int(x) for x in d[1]]
    if tid == "0.t_vec":
        return "vec", list(tt.get("D", []))
    return None, None


def _attr_value(at):
    tid, d = at.get("#"), at.get("D")
    if tid == "0.a_array":
        return [_attr_value(x) for x in d]
    if tid == "1.a_scalar" and isinstance(d, list) and len(d) == 2:
        return d[1]
    return d


@dataclass
class _PirOp:
    name: str
    index: int
    operands: list            # value ids, 0 = null
    results: list             # [(value id, type json)]
    attrs: dict
    raw: dict

    @classmethod
    def parse(cls, raw, index):
        if not isinstance(raw, dict) or "#" not in raw:
            raise PirFormatError(f"PIR json: op {index} is not an op object: {str(raw)[:120]}")
        name = raw["#"]
        if raw.get("regions"):
            raise UnsupportedPirOpError(f"PIR op '{name}' (index {index}) has sub-regions (control flow), "
                                        "which sampan does not translate yet.")
        if name == "p":    # compressed builtin.parameter
            out = raw["O"]
            return cls(name, index, [], [(out["%"], out.get("TT"))],
                       {"parameter_name": raw["A"][3], "OA": raw.get("OA")}, raw)
        operands = [int(x["%"]) for x in raw.get("I", [])]
        results = [(int(x["%"]), x.get("TT")) for x in raw.get("O", [])]
        attrs = {a["N"]: _attr_value(a["AT"]) for a in raw.get("A", [])}
        return cls(name, index, operands, results, attrs, raw)


# ============================================================================ translation
class _Translator:
    def __init__(self, program):
        self.program = program
        self.block = program.global_block()
        self.names = {}         # value id -> var name
        self.vectors = {}       # value id -> [var names]   (ops returning vectors; 0.combine once read)
        self.combines = {}      # value id -> [operand value ids]   (0.combine, resolved when read)
        self.stacks = {}        # value id -> (0.combine value id, the 1.stack op)   (emitted when read)
        self.consts = {}        # value id -> (python value, dtype name, shape)
        self.feeds = []         # (col, name)
        self.fetches = []       # (col, var name, alias)
        self.params = []
        self.param_vars = set()  # names of the vars made by `p` ops
        self.counters = {}
        self.prefixes = set()   # name prefixes (before the first '.') in use
        self.current = None
        self.used = set()       # value ids that some op reads

    # ---------------------------------------------------------------- naming and vars
    def _fresh(self, base):
        """``<base>_<n>``, a prefix that no var name uses yet (vars get ``<prefix>.tmp_<k>``)."""
        while True:
            n = self.counters.get(base, 0)
            self.counters[base] = n + 1
            name = f"{base}_{n}"
            if name not in self.prefixes:
                self.prefixes.add(name)
                return name

    def new_var(self, name, tt, **kw):
        dtype, shape = _type_info(tt)
        if dtype == "vec":
            raise PirFormatError(f"PIR op {self.where()}: a vector value cannot be bound to one variable.")
        if name in self.block.vars:
            raise PirFormatError(f"PIR op {self.where()}: a second value is named {name!r}.")
        self.prefixes.add(name.split(".")[0])
        return self.block.create_var(name=name, shape=shape, dtype=BY_NAME.get(dtype), **kw)

    def outputs(self, op, legacy_type, count=None):
        """Create vars for the first ``count`` results of ``op``; returns their names."""
        base = self._fresh(legacy_type)
        names = []
        for k, (vid, tt) in enumerate(op.results[:count]):
            name = f"{base}.tmp_{k}"
            if _type_info(tt)[0] == "vec":
                elems = [f"{name}_{j}" for j in range(len(tt["D"]))]
                for e, ett in zip(elems, tt["D"]):
                    self.new_var(e, ett)
                self.vectors[vid] = elems
                names.append(elems)
                continue
            self.new_var(name, tt)
            self.names[vid] = name
            names.append(name)
        return names

    def where(self):
        op = self.current
        return f"'{op.name}' (index {op.index})" if op else "?"

    def describe_operands(self, op):
        parts = []
        for vid in op.operands:
            if vid == 0:
                parts.append("null")
            elif vid in self.names:
                v = self.block.vars.get(self.names[vid])
                known = v is not None and v.dtype is not None    # (a Variable has no truth value)
                parts.append(f"%{vid}={self.names[vid]}" + (f"{v.shape}:{v.dtype.name}" if known else ""))
            elif vid in self.consts:
                parts.append(f"%{vid}=const {self.consts[vid][0]!r}")
            elif vid in self.vectors:
                parts.append(f"%{vid}=[{', '.join(self.vectors[vid])}]")
            elif vid in self.combines or vid in self.stacks:
                src = self.stacks[vid][0] if vid in self.stacks else vid
                elems = ", ".join(self.names.get(v, repr(self.consts[v][0]) if v in self.consts else f"%{v}")
                                  for v in self.combines.get(src, []))
                parts.append(f"%{vid}={'stack' if vid in self.stacks else 'combine'}[{elems}]")
            else:
                parts.append(f"%{vid}=<undefined>")
        return "(" + ", ".join(parts) + ")"

    # ---------------------------------------------------------------- operands
    def operand(self, op, i):
        return op.operands[i] if i < len(op.operands) else 0

    def inp(self, op, i):
        """Var name of operand i (None for a null operand); constants become fill ops on demand."""
        vid = self.operand(op, i)
        if vid == 0:
            return None
        return self._value(vid, f"operand {i}")

    def _value(self, vid, what):
        if vid in self.names:
            return self.names[vid]
        if vid in self.consts:
            return self._materialize(vid)
        if vid in self.stacks:
            return pir_ops._emit_stack(self, vid)
        if vid in self.vectors or vid in self.combines:
            raise PirFormatError(f"PIR op {self.where()}: {what} is a vector where a tensor is expected.")
        raise PirFormatError(f"PIR op {self.where()}: {what} (%{vid}) is used before it is defined.")

    def vector(self, vid):
        """Var names of a vector value (``0.combine`` operands are resolved, constants materialised, now)."""
        if vid not in self.vectors and vid in self.combines:
            self.vectors[vid] = [self._value(v, f"element {j} of %{vid}") for j, v in enumerate(self.combines[vid])]
        return list(self.vectors[vid])

    def inp_list(self, op, i):
        vid = self.operand(op, i)
        if vid in self.vectors or vid in self.combines:
            return self.vector(vid)
        name = self.inp(op, i)
        return [] if name is None else [name]

    def int_array(self, op, i):
        """An IntArray operand (shape, starts, axes, repeat times...) in the three forms legacy ops take it:
        ``(values, None, None)`` for a constant, ``(values with None for run-time elements, None, [element
        vars])`` for a ``0.combine`` / ``1.stack`` of scalars (the legacy ``*TensorList`` slot), or
        ``(None, var, None)`` for a run-time 1-D tensor (the legacy ``*Tensor`` slot); ``None`` when absent."""
        vid = self.operand(op, i)
        if vid == 0:
            return None
        if vid in self.consts:
            v = self.consts[vid][0]
            return [int(x) for x in (v if isinstance(v, list) else [v])], None, None
        src = self.stacks[vid][0] if vid in self.stacks else vid
        if src in self.combines:
            values = []
            for v in self.combines[src]:
                c = self.consts[v][0] if v in self.consts else None
                c = c[0] if isinstance(c, list) and len(c) == 1 else c
                values.append(int(c) if isinstance(c, (int, float)) else None)
            return values, None, self.vector(src)
        if src in self.vectors:
            return [None] * len(self.vectors[src]), None, self.vector(src)
        return None, self.inp(op, i), None

    def const(self, op, i, what):
        """The Python value of a constant operand (``1.full`` / ``1.full_int_array``), else an error."""
        vid = self.operand(op, i)
        if vid in self.consts:
            return self.consts[vid][0]
        raise UnsupportedPirOpError(
            f"PIR op {self.where()}: its {what} (operand {i}) is computed at run time, not a constant; "
            f"the legacy op needs it as an attribute. Operands: {self.describe_operands(op)}.")

    def is_const(self, op, i):
        return self.operand(op, i) in self.consts

    def _materialize(self, vid, dtype=None):
        """Emit the ``fill_constant`` (scalar) or ``assign_value`` (int list) op of a constant, in ``dtype``
        (default: its own), and return its output var (bound to the value when in its own dtype)."""
        value, own_dtype, shape = self.consts[vid]
        cache = dtype is None or convert_dtype(dtype) == convert_dtype(own_dtype)
        dt = convert_dtype(own_dtype if cache else dtype)
        name = f"{self._fresh('fill_constant' if not isinstance(value, list) else 'assign_value')}.tmp_0"
        if isinstance(value, list):
            shape = [len(value)]
            if dt.name in ("float32", "float64"):
                field_, code, vals = ("fp32_values", "floats", [float(x) for x in value]) if dt.name == "float32" \
                    else ("fp64_values", "float64s", [float(x) for x in value])
            else:
                field_, code = ("int64_values", "longs") if dt.name == "int64" else ("int32_values", "ints")
                vals = [int(x) for x in value]
            self.block.create_var(name=name, shape=shape, dtype=dt)
            self.emit("assign_value", {}, {"Out": [name]},
                      [("dtype", "int", dt.proto), ("shape", "ints", shape), (field_, code, vals)])
        else:
            value = pir_ops._coerce(value, dt.name)
            self.block.create_var(name=name, shape=list(shape), dtype=dt)
            self.emit("fill_constant", {"ShapeTensor": [], "ShapeTensorList": [], "ValueTensor": []}, {"Out": [name]},
                      [("dtype", "int", dt.proto), ("force_cpu", "bool", False), ("place_type", "int", -1),
                       ("shape", "longs", [int(s) for s in shape]), ("str_value", "string", repr(value)),
                       ("value", "float", float(value))])
        if cache:
            self.names[vid] = name
        return name

    # ---------------------------------------------------------------- ops
    def emit(self, type_, inputs, outputs, attrs):
        values, types = {}, {}
        for name, tname, value in sorted(attrs, key=lambda a: a[0]):
            values[name], types[name] = value, ATTR_TYPES[tname]
        ins = {k: list(inputs[k]) for k in sorted(inputs)}
        outs = {k: list(outputs[k]) for k in sorted(outputs)}
        return self.block.append_op(type_, ins, outs, values, types)

    def translate(self, op):
        self.current = op
        fn = pir_ops._SPECIAL.get(op.name)
        if fn is not None:
            fn(self, op)
            return
        spec = pir_ops._SIMPLE.get(op.name)
        if spec is None:
            raise UnsupportedPirOpError(
                f"PIR op '{op.name}' (index {op.index} of block_0) has no translation to a legacy op. "
                f"Operands: {self.describe_operands(op)}. Supported PIR ops: {', '.join(supported_pir_ops())}.")
        pir_ops._translate_simple(self, op, spec)

    def finish(self, version):
        block = self.block
        if self.feeds:
            block.create_var(name="feed", type=VarType.FEED_MINIBATCH, persistable=True)
            feed_ops = []
            for col, name in sorted(self.feeds):
                feed_ops.insert(0, self.emit("feed", {"X": ["feed"]}, {"Out": [name]}, [("col", "int", col)]))
            del block.ops[-len(feed_ops):]
            block.ops[:0] = feed_ops     # legacy order: prepended one by one, so the last column comes first
        if self.fetches:
            block.create_var(name="fetch", type=VarType.FETCH_LIST, persistable=True)
        fetches = sorted(self.fetches)
        return PirModel(self.program, sorted(self.params), [n for _, n in sorted(self.feeds)],
                        [n for _, n, _ in fetches], [a for _, _, a in fetches], version)


from . import pir_ops  # noqa: E402  (the op translators; they use the error classes above)
