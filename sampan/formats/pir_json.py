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
    return sorted(set(_SIMPLE) | set(_SPECIAL))


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
            return _emit_stack(self, vid)
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
            value = _coerce(value, dt.name)
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
        fn = _SPECIAL.get(op.name)
        if fn is not None:
            fn(self, op)
            return
        spec = _SIMPLE.get(op.name)
        if spec is None:
            raise UnsupportedPirOpError(
                f"PIR op '{op.name}' (index {op.index} of block_0) has no translation to a legacy op. "
                f"Operands: {self.describe_operands(op)}. Supported PIR ops: {', '.join(supported_pir_ops())}.")
        _translate_simple(self, op, spec)

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


# ---------------------------------------------------------------------------- simple ops
# PIR id -> (legacy type, input slots by operand position, output slots by result position,
#            {pir attr: (legacy attr, type)}, [fixed legacy attrs (name, type, value)])
# A slot name ending in '*' takes a vector operand; None skips the operand/result.
_UNARY = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "exp": "exp", "sqrt": "sqrt", "rsqrt": "rsqrt",
          "abs": "abs", "log": "log", "silu": "silu", "relu6": "relu6", "swish": "swish", "floor": "floor",
          "ceil": "ceil", "sin": "sin", "cos": "cos", "erf": "erf", "square": "square", "reciprocal": "reciprocal",
          "sign": "sign", "assign": "assign", "logical_not": "logical_not", "softsign": "softsign",
          "round": "round", "log2": "log2", "log10": "log10", "log1p": "log1p", "expm1": "expm1"}
_BINARY = {"add": "elementwise_add", "subtract": "elementwise_sub", "multiply": "elementwise_mul",
           "divide": "elementwise_div", "maximum": "elementwise_max", "minimum": "elementwise_min",
           "elementwise_pow": "elementwise_pow", "remainder": "elementwise_mod",
           "floor_divide": "elementwise_floordiv"}
_COMPARE = ("greater_than", "less_than", "equal", "not_equal", "greater_equal", "less_equal")
_LOGICAL = ("logical_and", "logical_or", "logical_xor")
_CONV = {"strides": ("strides", "ints"), "paddings": ("paddings", "ints"), "dilations": ("dilations", "ints"),
         "padding_algorithm": ("padding_algorithm", "string"), "groups": ("groups", "int"),
         "data_format": ("data_format", "string")}

_SIMPLE = {
    "1.matmul": ("matmul_v2", ["X", "Y"], ["Out"],
                 {"transpose_x": ("trans_x", "bool"), "transpose_y": ("trans_y", "bool")}, []),
    "1.bmm": ("bmm", ["X", "Y"], ["Out"], {}, []),
    "1.conv2d": ("conv2d", ["Input", "Filter"], ["Output"], _CONV, []),
    "1.depthwise_conv2d": ("depthwise_conv2d", ["Input", "Filter"], ["Output"], _CONV, []),
    "1.flatten": ("flatten_contiguous_range", ["X"], ["Out"],
                  {"start_axis": ("start_axis", "int"), "stop_axis": ("stop_axis", "int")}, []),
    "1.layer_norm": ("layer_norm", ["X", "Scale", "Bias"], ["Y", "Mean", "Variance"],
                     {"epsilon": ("epsilon", "float"), "begin_norm_axis": ("begin_norm_axis", "int")}, []),
    "1.group_norm": ("group_norm", ["X", "Scale", "Bias"], ["Y", "Mean", "Variance"],
                     {"epsilon": ("epsilon", "float"), "groups": ("groups", "int"),
                      "data_format": ("data_layout", "string")}, []),
    "1.embedding": ("lookup_table_v2", ["Ids", "W"], ["Out"], {"padding_idx": ("padding_idx", "long")}, []),
    "1.transpose": ("transpose2", ["X"], ["Out"], {"perm": ("axis", "ints")}, []),
    "1.softmax": ("softmax", ["X"], ["Out"], {"axis": ("axis", "int")}, []),
    "1.log_softmax": ("log_softmax", ["X"], ["Out"], {"axis": ("axis", "int")}, []),
    "1.gelu": ("gelu", ["X"], ["Out"], {"approximate": ("approximate", "bool")}, []),
    "1.leaky_relu": ("leaky_relu", ["X"], ["Out"], {"negative_slope": ("alpha", "float")}, []),
    "1.elu": ("elu", ["X"], ["Out"], {"alpha": ("alpha", "float")}, []),
    "1.hardswish": ("hard_swish", ["X"], ["Out"], {},
                    [("threshold", "float", 6.0), ("scale", "float", 6.0), ("offset", "float", 3.0)]),
    "1.hardsigmoid": ("hard_sigmoid", ["X"], ["Out"],
                      {"slope": ("slope", "float"), "offset": ("offset", "float")}, []),
    "1.softplus": ("softplus", ["X"], ["Out"], {"beta": ("beta", "float"), "threshold": ("threshold", "float")}, []),
    "1.pow": ("pow", ["X"], ["Out"], {"y": ("factor", "float")}, []),
    "1.shape": ("shape", ["Input"], ["Out"], {}, []),
    "1.where": ("where", ["Condition", "X", "Y"], ["Out"], {}, []),
    "1.top_k": ("top_k_v2", ["X", None], ["Out", "Indices"],
                {"axis": ("axis", "int"), "largest": ("largest", "bool"), "sorted": ("sorted", "bool")}, []),
    "1.pad3d": ("pad3d", ["X", None], ["Out"], {"mode": ("mode", "string"), "pad_value": ("value", "float"),
                                               "data_format": ("data_format", "string")}, []),
}
for _p, _l in _UNARY.items():
    _SIMPLE[f"1.{_p}"] = (_l, ["X"], ["Out"], {}, [])
for _p, _l in _BINARY.items():
    _SIMPLE[f"1.{_p}"] = (_l, ["X", "Y"], ["Out"], {}, [("axis", "int", -1)])
for _p in _COMPARE:
    _SIMPLE[f"1.{_p}"] = (_p, ["X", "Y"], ["Out"], {}, [("axis", "int", -1), ("force_cpu", "bool", False)])
for _p in _LOGICAL:
    _SIMPLE[f"1.{_p}"] = (_p, ["X", "Y"], ["Out"], {}, [])

_SIMPLE_STACK = ("stack", ["X*"], ["Y"], {"axis": ("axis", "int")}, [])

# attrs of constant operands folded into legacy attributes: PIR id -> {operand index: (attr, type)}
_FOLDED = {"1.top_k": {1: ("k", "int")}, "1.pad3d": {1: ("paddings", "ints")}}
# tensor slots Paddle 2 writes empty when the value is an attribute (the folded constants above, pow's y)
_EMPTY_SLOTS = {"1.top_k": ("K",), "1.pad3d": ("Paddings",), "1.pow": ("FactorTensor",)}


def _coerce(value, dtype):
    """A constant's Python value as the dtype (a name) stores it: int for integer types, bool, float."""
    name = convert_dtype(dtype).name
    if name == "bool":
        return bool(value)
    if name.startswith(("int", "uint")) and float(value).is_integer():
        return int(value)
    if name.startswith(("float", "bfloat")):
        return float(value)
    return value


def _dtype_code(name, default=-1):
    """VarType code of a PIR dtype attribute; ``default`` for an unset one (``Undefined(ALL_DTYPE)``)."""
    if name in (None, "", "undefined") or str(name).startswith("Undefined"):
        return default
    return convert_dtype(name).proto


def _convert(value, tname):
    if tname in ("ints", "longs"):
        return [int(x) for x in value]
    if tname == "floats":
        return [float(x) for x in value]
    return {"int": int, "long": int, "float": float, "bool": bool, "string": str}[tname](value)


def _translate_simple(tr, op, spec, extra_attrs=()):
    legacy, in_slots, out_slots, attr_map, fixed = spec
    inputs = {}
    for i, slot in enumerate(in_slots):
        if slot is None:
            continue
        if slot.endswith("*"):
            inputs[slot[:-1]] = tr.inp_list(op, i)
        else:
            name = tr.inp(op, i)
            inputs[slot] = [] if name is None else [name]
    attrs = [(legacy_name, t, _convert(op.attrs[p], t)) for p, (legacy_name, t) in attr_map.items()
             if p in op.attrs]
    for slot in _EMPTY_SLOTS.get(op.name, ()):
        inputs[slot] = []
    for i, (name, t) in _FOLDED.get(op.name, {}).items():
        attrs.append((name, t, _convert(tr.const(op, i, name), t)))
    attrs += list(fixed) + list(extra_attrs)
    names = tr.outputs(op, legacy)
    outputs = {slot: [names[k]] for k, slot in enumerate(out_slots) if slot is not None and k < len(names)}
    return tr.emit(legacy, inputs, outputs, attrs)


# ---------------------------------------------------------------------------- special ops
def _parameter(tr, op):
    name = op.attrs.get("parameter_name")
    if not isinstance(name, str) or not name:
        raise PirFormatError(f"PIR json: parameter op at index {op.index} has no name.")
    vid, tt = op.results[0]
    oa = op.attrs.get("OA")
    persistable = bool(oa[0]) if isinstance(oa, list) and len(oa) == 3 else True
    if name in tr.param_vars:
        # Paddle writes one `p` op per reader of a shared variable (each nn.GRU / nn.SimpleRNN of a static
        # program reads the same 'dropout_state__non_persistable'): it is the same variable again
        old = tr.block.vars[name]
        if _type_info(tt)[0] != (old.dtype.name if old.dtype is not None else None):
            raise PirFormatError(f"PIR json: parameter {name!r} appears twice (op index {op.index}) with "
                                 f"different dtypes.")
        tr.names[vid] = name
        return
    tr.param_vars.add(name)
    v = tr.new_var(name, tt, persistable=persistable)
    if isinstance(oa, list) and len(oa) == 3:
        v.trainable = bool(oa[2])
    tr.names[vid] = name
    if persistable:
        tr.params.append(name)


def _data(tr, op):
    name = op.attrs.get("name")
    vid, tt = op.results[0]
    tr.new_var(name, tt, need_check_feed=True)
    tr.names[vid] = name
    tr.feeds.append((len(tr.feeds), name))


def _fetch(tr, op):
    src = tr.inp(op, 0)
    col = int(op.attrs.get("col", len(tr.fetches)))
    tr.fetches.append((col, src, op.attrs.get("name", f"fetch_name_{col}")))
    tr.emit("fetch", {"X": [src]}, {"Out": ["fetch"]}, [("col", "int", col)])


def _full(tr, op):
    vid, _ = op.results[0]
    dtype = op.attrs.get("dtype", "float32")
    tr.consts[vid] = (_coerce(op.attrs["value"], dtype), dtype, list(op.attrs.get("shape", [1])))


def _full_int_array(tr, op):
    vid, _ = op.results[0]
    tr.consts[vid] = ([int(x) for x in op.attrs["value"]], op.attrs.get("dtype", "int64"), None)


def _combine(tr, op):
    # resolved when read: a shape consumer may take the constants among the elements as attribute values
    tr.combines[op.results[0][0]] = list(op.operands)


def _stack(tr, op):
    """``1.stack`` of a ``0.combine``: Paddle 3 builds a run-time shape ``[n, -1]`` as combine + stack,
    where Paddle 2 gave the scalars to the consumer's ``*TensorList`` slot. The stack op is emitted only
    when something reads its result as a tensor; shape consumers take the elements (``int_array``)."""
    vid = op.operands[0] if op.operands else 0
    if vid in tr.combines and int(op.attrs.get("axis", 0)) == 0:
        tr.stacks[op.results[0][0]] = (vid, op)
        return
    _translate_simple(tr, op, _SIMPLE_STACK)


def _emit_stack(tr, vid):
    src, op = tr.stacks.pop(vid)
    current, tr.current = tr.current, op
    try:
        xs = tr.vector(src)
        (out,) = tr.outputs(op, "stack", 1)
        tr.emit("stack", {"X": xs}, {"Y": [out]}, [("axis", "int", int(op.attrs.get("axis", 0)))])
    finally:
        tr.current = current
    return out


def _builtin_split(tr, op):
    vec = tr.vector(op.operands[0]) if op.operands[0] in tr.vectors or op.operands[0] in tr.combines else None
    if vec is None or len(vec) != len(op.results):
        raise PirFormatError(f"PIR op {tr.where()}: splits %{op.operands[0]}, which is not a vector of "
                             f"{len(op.results)} values.")
    for (vid, _), name in zip(op.results, vec):
        tr.names[vid] = name


def _builtin_slice(tr, op):
    vec = tr.vector(op.operands[0]) if op.operands[0] in tr.vectors or op.operands[0] in tr.combines else None
    if vec is None:
        raise PirFormatError(f"PIR op {tr.where()}: slices %{op.operands[0]}, which is not a vector.")
    tr.names[op.results[0][0]] = vec[int(op.attrs["index"])]


def _batch_norm(tr, op):
    x, mean, var, scale, bias = (tr.inp(op, i) for i in range(5))
    attrs = [("data_layout", "string", op.attrs.get("data_format", "NCHW")),
             ("epsilon", "float", float(op.attrs.get("epsilon", 1e-5))),
             ("is_test", "bool", bool(op.attrs.get("is_test", True))),
             ("momentum", "float", float(op.attrs.get("momentum", 0.9))),
             ("trainable_statistics", "bool", bool(op.attrs.get("trainable_statistics", False))),
             ("use_global_stats", "bool", bool(op.attrs.get("use_global_stats", False)))]
    # results: out, mean_out, variance_out, saved_mean, saved_variance, reserve_space
    base = tr._fresh("batch_norm")
    y, saved_mean, saved_var = f"{base}.tmp_2", f"{base}.tmp_0", f"{base}.tmp_1"
    for (vid, tt), name in zip([op.results[0], op.results[3], op.results[4]], [y, saved_mean, saved_var]):
        tr.new_var(name, tt)
        tr.names[vid] = name
    tr.names[op.results[1][0]] = mean      # in place: MeanOut/VarianceOut are the running-stat vars
    tr.names[op.results[2][0]] = var
    tr.emit("batch_norm", {"X": [x], "Mean": [mean], "Variance": [var], "Scale": _opt(scale),
                           "Bias": _opt(bias), "MomentumTensor": []},
            {"Y": [y], "MeanOut": [mean], "VarianceOut": [var], "SavedMean": [saved_mean],
             "SavedVariance": [saved_var]}, attrs)


def _opt(name):
    return [] if name is None else [name]


def _xshape(tr, out_name, x_name):
    x = tr.block.vars[x_name]
    name = out_name[:-1] + "1" if out_name.endswith(".tmp_0") else out_name + ".xshape"
    tr.block.create_var(name=name, shape=[0] + list(x.shape or []), dtype=x.dtype)
    return name


def _reshape(tr, op):
    x = tr.inp(op, 0)
    (out,) = tr.outputs(op, "reshape2", 1)
    inputs, attrs = {"X": [x]}, []
    _int_array_input(tr, op, 1, inputs, attrs, "shape", "ints", "Shape", "ShapeTensor")
    tr.emit("reshape2", inputs, {"Out": [out], "XShape": [_xshape(tr, out, x)]}, attrs)


def _int_array_input(tr, op, i, inputs, attrs, attr, attr_type, tensor_slot, list_slot, default=None):
    """Bind IntArray operand ``i`` the legacy way: a constant becomes attribute ``attr``; a combine/stack
    of scalars the ``list_slot`` vars (with their known values, -1 for run-time ones, in ``attr``, as
    Paddle 2 wrote); a run-time tensor the ``tensor_slot`` var. Empty slots are written, as Paddle does."""
    got = tr.int_array(op, i)
    values, tensor, tensors = got if got is not None else (default, None, None)
    if tensor_slot:
        inputs[tensor_slot] = [tensor] if tensor else []
    elif tensor:
        raise UnsupportedPirOpError(f"PIR op {tr.where()}: its {attr} (operand {i}) is a run-time tensor, which "
                                    f"the legacy op cannot take. Operands: {tr.describe_operands(op)}.")
    if list_slot:
        inputs[list_slot] = tensors or []
    elif tensors:
        values = _require_known(tr, op, i, attr, values)
    if values is None and tensor is None:
        raise PirFormatError(f"PIR op {tr.where()}: operand {i} ({attr}) is missing.")
    attrs.append((attr, attr_type, [-1 if v is None else int(v) for v in values or []]))
    return values


def _require_known(tr, op, i, what, values):
    if any(v is None for v in values):
        raise UnsupportedPirOpError(
            f"PIR op {tr.where()}: its {what} (operand {i}) is computed at run time, not a constant; "
            f"the legacy op needs it as an attribute. Operands: {tr.describe_operands(op)}.")
    return values


def _scale(tr, op):
    x = tr.inp(op, 0)
    inputs = {"X": [x], "ScaleTensor": []}
    if tr.is_const(op, 1):
        scale = float(tr.const(op, 1, "scale"))
    else:
        inputs["ScaleTensor"], scale = [tr.inp(op, 1)], 1.0
    (out,) = tr.outputs(op, "scale", 1)
    a = op.attrs
    tr.emit("scale", inputs, {"Out": [out]}, [("scale", "float", scale), ("bias", "float", float(a.get("bias", 0.0))),
                                              ("bias_after_scale", "bool", bool(a.get("bias_after_scale", True)))])


def _dropout(tr, op):
    x, seed = tr.inp(op, 0), tr.inp(op, 1)
    p = float(tr.const(op, 2, "dropout probability"))
    # the mask is written only when something reads it (Paddle's inference programs drop it)
    names = tr.outputs(op, "dropout", 2 if len(op.results) > 1 and op.results[1][0] in tr.used else 1)
    outputs = {"Out": [names[0]]}
    if len(names) > 1:
        outputs["Mask"] = [names[1]]
    tr.emit("dropout", {"X": [x], "Seed": _opt(seed)}, outputs,
            [("dropout_implementation", "string", op.attrs.get("mode", "upscale_in_train")),
             ("dropout_prob", "float", p), ("is_test", "bool", bool(op.attrs.get("is_test", True)))])
    # seed / fix_seed are left out, as in Paddle's inference programs (they only matter in training)


def _pool2d(tr, op):
    x = tr.inp(op, 0)
    ksize = [int(k) for k in tr.const(op, 1, "kernel size")]
    adaptive = bool(op.attrs.get("adaptive", False))
    (out,) = tr.outputs(op, "pool2d", 1)
    attrs = [("ksize", "ints", ksize), ("adaptive", "bool", adaptive),
             ("ceil_mode", "bool", bool(op.attrs.get("ceil_mode", False))),
             ("data_format", "string", op.attrs.get("data_format", "NCHW")),
             ("exclusive", "bool", bool(op.attrs.get("exclusive", True))),
             ("global_pooling", "bool", bool(op.attrs.get("global_pooling", False))),
             ("padding_algorithm", "string", op.attrs.get("padding_algorithm", "EXPLICIT")),
             ("paddings", "ints", [int(v) for v in op.attrs.get("paddings", [0, 0])]),
             ("pooling_type", "string", op.attrs.get("pooling_type", "max")),
             ("strides", "ints", [int(v) for v in op.attrs.get("strides", [1, 1])]),
             ("use_cudnn", "bool", not adaptive)]    # what Paddle 2.6.2 writes (FORMATS.md section 6)
    tr.emit("pool2d", {"X": [x]}, {"Out": [out]}, attrs)


def _reduce(legacy):
    def fn(tr, op):
        x = tr.inp(op, 0)
        axis = tr.const(op, 1, "axis") if len(op.operands) > 1 else []
        axis = [int(a) for a in (axis if isinstance(axis, list) else [axis])]
        ndim = len(tr.block.vars[x].shape or [])
        out_dtype = _dtype_code(op.attrs.get("dtype"))
        (out,) = tr.outputs(op, legacy, 1)
        tr.emit(legacy, {"X": [x]}, {"Out": [out]},
                [("dim", "ints", axis), ("keep_dim", "bool", bool(op.attrs.get("keepdim", False))),
                 ("reduce_all", "bool", len(axis) == 0 or len(axis) == ndim),
                 ("in_dtype", "int", -1), ("out_dtype", "int", out_dtype)])
    return fn


def _concat(tr, op):
    xs = tr.inp_list(op, 0)
    axis = int(tr.const(op, 1, "axis"))
    (out,) = tr.outputs(op, "concat", 1)
    tr.emit("concat", {"X": xs, "AxisTensor": []}, {"Out": [out]}, [("axis", "int", axis)])


def _cast(tr, op):
    x = tr.inp(op, 0)
    (out,) = tr.outputs(op, "cast", 1)
    in_dt = tr.block.vars[x].dtype
    tr.emit("cast", {"X": [x]}, {"Out": [out]}, [("in_dtype", "int", in_dt.proto if in_dt else -1),
                                                 ("out_dtype", "int", convert_dtype(op.attrs["dtype"]).proto)])


def _squeeze(legacy):
    def fn(tr, op):
        x = tr.inp(op, 0)
        inputs, attrs = {"X": [x]}, []
        if legacy == "unsqueeze2":
            _int_array_input(tr, op, 1, inputs, attrs, "axes", "ints", "AxesTensor", "AxesTensorList")
        else:
            _int_array_input(tr, op, 1, inputs, attrs, "axes", "ints", None, None)
        (out,) = tr.outputs(op, legacy, 1)
        tr.emit(legacy, inputs, {"Out": [out]}, attrs)    # no XShape: Paddle prunes it from inference programs
    return fn


def _slice(tr, op):
    x = tr.inp(op, 0)
    axes = [int(a) for a in op.attrs.get("axes", [])]
    inputs, attrs = {"Input": [x]}, [("axes", "ints", axes)]
    _int_array_input(tr, op, 1, inputs, attrs, "starts", "ints", "StartsTensor", "StartsTensorList")
    _int_array_input(tr, op, 2, inputs, attrs, "ends", "ints", "EndsTensor", "EndsTensorList")
    # infer_flags (-1 where a bound is known only at run time) are Paddle's own, as in Paddle 2
    attrs += [("infer_flags", "ints", [int(f) for f in op.attrs.get("infer_flags", [1] * len(axes))]),
              ("decrease_axis", "ints", [int(a) for a in op.attrs.get("decrease_axis", [])])]
    (out,) = tr.outputs(op, "slice", 1)
    tr.emit("slice", inputs, {"Out": [out]}, attrs)


def _strided_slice(tr, op):
    x = tr.inp(op, 0)
    axes = [int(a) for a in op.attrs.get("axes", [])]
    inputs, attrs = {"Input": [x]}, [("axes", "ints", axes)]
    known = True
    for i, (attr, slot) in enumerate((("starts", "Starts"), ("ends", "Ends"), ("strides", "Strides")), 1):
        values = _int_array_input(tr, op, i, inputs, attrs, attr, "ints", f"{slot}Tensor", f"{slot}TensorList")
        known = known and values is not None and None not in values
    attrs += [("infer_flags", "ints", [1 if known else -1] * len(axes)), ("decrease_axis", "ints", [])]
    (out,) = tr.outputs(op, "strided_slice", 1)
    tr.emit("strided_slice", inputs, {"Out": [out]}, attrs)


def _axis_input(tr, op, i, inputs, attrs, slot="AxisTensor", attr="axis"):
    """A Scalar(int) axis operand: an attribute when constant, else the ``AxisTensor`` var."""
    if tr.is_const(op, i):
        value = tr.const(op, i, attr)
        inputs[slot] = []
        attrs.append((attr, "int", int(value[0] if isinstance(value, list) else value)))
    else:
        inputs[slot] = [tr.inp(op, i)]
        attrs.append((attr, "int", 0))


def _split(tr, op):
    x = tr.inp(op, 0)
    inputs, attrs = {"X": [x]}, []
    if op.name == "1.split_with_num":
        _axis_input(tr, op, 1, inputs, attrs)
        inputs["SectionsTensorList"] = []
        attrs += [("num", "int", int(op.attrs["num"])), ("sections", "ints", [])]
    else:
        _int_array_input(tr, op, 1, inputs, attrs, "sections", "ints", None, "SectionsTensorList")
        _axis_input(tr, op, 2, inputs, attrs)
        attrs.append(("num", "int", 0))
    (outs,) = tr.outputs(op, "split", 1)
    tr.emit("split", inputs, {"Out": outs}, attrs)


def _arg_max(tr, op):
    x = tr.inp(op, 0)
    (out,) = tr.outputs(op, "arg_max", 1)
    tr.emit("arg_max", {"X": [x]}, {"Out": [out]},
            [("axis", "long", int(tr.const(op, 1, "axis"))),
             ("keepdims", "bool", bool(op.attrs.get("keepdims", False))),
             ("flatten", "bool", bool(op.attrs.get("flatten", False))),
             ("dtype", "int", convert_dtype(op.attrs.get("dtype", "int64")).proto)])


def _gather(tr, op):
    x, index = tr.inp(op, 0), tr.inp(op, 1)
    inputs, attrs = {"X": [x], "Index": [index]}, []
    if len(op.operands) > 2 and tr.operand(op, 2):
        _axis_input(tr, op, 2, inputs, attrs, slot="Axis")
    else:
        inputs["Axis"], attrs = [], [("axis", "int", 0)]
    (out,) = tr.outputs(op, "gather", 1)
    tr.emit("gather", inputs, {"Out": [out]}, attrs)


def _int_list_op(legacy, attr, tensor_slot, list_slot):
    def fn(tr, op):
        x = tr.inp(op, 0)
        inputs, attrs = {"X": [x]}, []
        _int_array_input(tr, op, 1, inputs, attrs, attr, "ints", tensor_slot, list_slot)
        (out,) = tr.outputs(op, legacy, 1)
        tr.emit(legacy, inputs, {"Out": [out]}, attrs)
    return fn


def _clip(tr, op):
    x = tr.inp(op, 0)
    inputs, attrs = {"X": [x]}, []
    for i, (attr, slot) in enumerate((("min", "Min"), ("max", "Max")), 1):
        if tr.is_const(op, i):       # a constant bound is an attribute, as Paddle 2 wrote it
            value = tr.const(op, i, attr)
            inputs[slot] = []
            attrs.append((attr, "float", float(value[0] if isinstance(value, list) else value)))
        else:
            inputs[slot] = [tr.inp(op, i)]
            attrs.append((attr, "float", 0.0))
    (out,) = tr.outputs(op, "clip", 1)
    tr.emit("clip", inputs, {"Out": [out]}, attrs)


def _full_with_tensor(tr, op):
    """``1.full_with_tensor(value, shape)`` (a shape known at run time) -> ``fill_constant`` with its
    ``ShapeTensor`` / ``ShapeTensorList`` and, for a run-time value, ``ValueTensor``."""
    dtype = op.attrs.get("dtype", "float32")
    inputs, attrs = {}, []
    if tr.is_const(op, 0):
        value = tr.const(op, 0, "value")
        value = _coerce(value[0] if isinstance(value, list) else value, dtype)
        inputs["ValueTensor"] = []
        attrs += [("value", "float", float(value)), ("str_value", "string", repr(value))]
    else:
        inputs["ValueTensor"] = [tr.inp(op, 0)]
        attrs += [("value", "float", 0.0), ("str_value", "string", "")]
    _int_array_input(tr, op, 1, inputs, attrs, "shape", "longs", "ShapeTensor", "ShapeTensorList")
    attrs += [("dtype", "int", _dtype_code(dtype, 5)), ("force_cpu", "bool", False), ("place_type", "int", -1)]
    (out,) = tr.outputs(op, "fill_constant", 1)
    tr.emit("fill_constant", inputs, {"Out": [out]}, attrs)


def _full_like(tr, op):
    x = tr.inp(op, 0)
    value = tr.const(op, 1, "fill value")
    value = value[0] if isinstance(value, list) else value
    (out,) = tr.outputs(op, "fill_any_like", 1)
    tr.emit("fill_any_like", {"X": [x]}, {"Out": [out]},
            [("dtype", "int", _dtype_code(op.attrs.get("dtype"))), ("value", "float", float(value))])


def _shape64(tr, op):
    """``1.shape64`` (int64 result) -> ``shape`` (int32, the only legacy shape op) + ``cast`` to int64."""
    x = tr.inp(op, 0)
    vid, tt = op.results[0]
    base = tr._fresh("shape")
    s32 = tr.block.create_var(name=f"{base}.tmp_0", shape=_type_info(tt)[1], dtype=BY_NAME["int32"])
    tr.emit("shape", {"Input": [x]}, {"Out": [s32.name]}, [])
    (out,) = tr.outputs(op, "cast", 1)
    tr.emit("cast", {"X": [s32.name]}, {"Out": [out]}, [("in_dtype", "int", s32.dtype.proto),
                                                        ("out_dtype", "int", _dtype_code(_type_info(tt)[0], 3))])


def _arange(tr, op):
    """``1.arange(start, end, step)`` -> ``range``; constant bounds become ``fill_constant`` ops of the
    result dtype (the legacy op computes in its inputs' dtype)."""
    dtype = op.attrs.get("dtype")
    dtype = None if _dtype_code(dtype) == -1 else dtype
    names = []
    for i in range(3):
        vid = tr.operand(op, i)
        if vid in tr.consts and vid not in tr.names:
            names.append(tr._materialize(vid, dtype))
            continue
        name = tr.inp(op, i)
        have = tr.block.vars[name].dtype
        if dtype is not None and have is not None and have != convert_dtype(dtype):
            # a run-time bound of another dtype: cast it first, as paddle.arange does in Paddle 2
            cast = f"{tr._fresh('cast')}.tmp_0"
            tr.block.create_var(name=cast, shape=tr.block.vars[name].shape, dtype=convert_dtype(dtype))
            tr.emit("cast", {"X": [name]}, {"Out": [cast]}, [("in_dtype", "int", have.proto),
                                                             ("out_dtype", "int", convert_dtype(dtype).proto)])
            name = cast
        names.append(name)
    (out,) = tr.outputs(op, "range", 1)
    tr.emit("range", {"Start": [names[0]], "End": [names[1]], "Step": [names[2]]}, {"Out": [out]}, [])


_VALUE_FIELDS = {"bool": ("bool_values", "ints", int), "int32": ("int32_values", "ints", int),
                 "int64": ("int64_values", "longs", int), "float32": ("fp32_values", "floats", float),
                 "float64": ("fp64_values", "float64s", float)}


def _assign_value(tr, op):
    """``1.assign_value`` / ``1.assign_value_`` (a constant tensor written into the program) -> ``assign_value``."""
    dt = convert_dtype(op.attrs.get("dtype", "float32"))
    if dt.name not in _VALUE_FIELDS:
        raise UnsupportedPirOpError(f"PIR op {tr.where()}: assign_value of dtype {dt.name} has no legacy form "
                                    f"(supported: {', '.join(_VALUE_FIELDS)}).")
    field_, code, conv = _VALUE_FIELDS[dt.name]
    values = [conv(v) for v in op.attrs.get("values", [])]
    (out,) = tr.outputs(op, "assign_value", 1)
    tr.emit("assign_value", {}, {"Out": [out]}, [("dtype", "int", dt.proto),
                                                 ("shape", "ints", [int(d) for d in op.attrs.get("shape", [])]),
                                                 (field_, code, values)])


_RNN_ATTRS = {"dropout_prob": "float", "is_bidirec": "bool", "input_size": "int", "hidden_size": "int",
              "num_layers": "int", "mode": "string", "seed": "int", "is_test": "bool"}


def _rnn(tr, op):
    """``1.rnn(x, pre_state[], weight_list[], sequence_length?, dropout_state_in?)`` -> ``rnn``.

    Results: out, dropout_state_out, state[] (a vector, taken apart by ``0.split``), reserve. As in
    Paddle 2, the ``DropoutState`` output is the dropout-state variable itself (updated in place)."""
    x = tr.inp(op, 0)
    pre, weights = tr.inp_list(op, 1), tr.inp_list(op, 2)
    seq, dropout_state = tr.inp(op, 3), tr.inp(op, 4)
    base = tr._fresh("rnn")
    (out_id, out_tt), (ds_id, ds_tt), (st_id, st_tt), (rs_id, _) = op.results[:4]
    out = f"{base}.tmp_0"
    tr.new_var(out, out_tt)
    tr.names[out_id] = out
    if _type_info(st_tt)[0] != "vec":
        raise PirFormatError(f"PIR op {tr.where()}: the rnn states (result 2) are not a vector.")
    states = [f"{base}.tmp_1_{j}" for j in range(len(st_tt["D"]))]
    for name, ett in zip(states, st_tt["D"]):
        tr.new_var(name, ett)
    tr.vectors[st_id] = states
    reserve = f"{base}.tmp_2"
    tr.block.create_var(name=reserve, shape=[-1], dtype=BY_NAME["uint8"])
    tr.names[rs_id] = reserve
    if dropout_state is None:
        dropout_state = f"{base}.dropout_state"
        tr.block.create_var(name=dropout_state, shape=[-1], dtype=BY_NAME["uint8"])
    tr.names[ds_id] = dropout_state
    attrs = [(k, t, _convert(op.attrs[k], t)) for k, t in _RNN_ATTRS.items() if k in op.attrs]
    tr.emit("rnn", {"Input": [x], "PreState": pre, "WeightList": weights, "SequenceLength": _opt(seq)},
            {"Out": [out], "State": states, "Reserve": [reserve], "DropoutState": [dropout_state]}, attrs)


def _interp(legacy):
    def fn(tr, op):
        x = tr.inp(op, 0)
        (out,) = tr.outputs(op, legacy, 1)
        a = op.attrs
        tr.emit(legacy, {"X": [x], "OutSize": _opt(tr.inp(op, 1)), "SizeTensor": tr.inp_list(op, 2),
                         "Scale": _opt(tr.inp(op, 3))}, {"Out": [out]},
                [("align_corners", "bool", bool(a.get("align_corners", False))),
                 ("align_mode", "int", int(a.get("align_mode", 1))),
                 ("data_layout", "string", a.get("data_format", "NCHW")),
                 ("interp_method", "string", a.get("interp_method", legacy.split("_")[0])),
                 ("out_d", "int", int(a.get("out_d", -1))), ("out_h", "int", int(a.get("out_h", -1))),
                 ("out_w", "int", int(a.get("out_w", -1))),
                 ("scale", "floats", [float(s) for s in a.get("scale", [])])])
    return fn


def _conv2d_transpose(tr, op):
    x, w = tr.inp(op, 0), tr.inp(op, 1)
    out_size = tr.const(op, 2, "output size") if tr.operand(op, 2) else []
    (out,) = tr.outputs(op, "conv2d_transpose", 1)
    attrs = [(legacy, t, _convert(op.attrs[p], t)) for p, (legacy, t) in _CONV.items() if p in op.attrs]
    attrs += [("output_padding", "ints", [int(v) for v in op.attrs.get("output_padding", [])]),
              ("output_size", "ints", [int(v) for v in out_size])]
    tr.emit("conv2d_transpose", {"Input": [x], "Filter": [w], "Bias": []}, {"Output": [out]}, attrs)


_SPECIAL = {
    "p": _parameter, "0.parameter": _parameter, "1.data": _data, "1.fetch": _fetch, "1.full": _full,
    "1.full_int_array": _full_int_array, "0.combine": _combine, "0.split": _builtin_split,
    "0.slice": _builtin_slice, "1.batch_norm_": _batch_norm, "1.batch_norm": _batch_norm,
    "1.reshape": _reshape, "1.scale": _scale, "1.dropout": _dropout, "1.pool2d": _pool2d,
    "1.mean": _reduce("reduce_mean"), "1.sum": _reduce("reduce_sum"), "1.max": _reduce("reduce_max"),
    "1.min": _reduce("reduce_min"), "1.prod": _reduce("reduce_prod"), "1.concat": _concat, "1.cast": _cast,
    "1.squeeze": _squeeze("squeeze2"), "1.unsqueeze": _squeeze("unsqueeze2"), "1.slice": _slice,
    "1.split": _split, "1.split_with_num": _split, "1.argmax": _arg_max, "1.gather": _gather,
    "1.tile": _int_list_op("tile", "repeat_times", "RepeatTimes", "repeat_times_tensor"),
    "1.expand": _int_list_op("expand_v2", "shape", "Shape", "expand_shapes_tensor"),
    "1.clip": _clip, "1.bilinear_interp": _interp("bilinear_interp_v2"),
    "1.nearest_interp": _interp("nearest_interp_v2"), "1.conv2d_transpose": _conv2d_transpose,
    "1.stack": _stack, "1.full_with_tensor": _full_with_tensor, "1.full_like": _full_like,
    "1.shape64": _shape64, "1.strided_slice": _strided_slice, "1.arange": _arange, "1.rnn": _rnn,
    "1.assign_value": _assign_value, "1.assign_value_": _assign_value,
}
