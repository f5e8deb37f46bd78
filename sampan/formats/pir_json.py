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

Names: parameters keep their ``p`` names (``linear_0.w_0``), inputs the ``name`` of their ``1.data``
op, other values get ``<legacy op type>_<n>.tmp_<k>``. Constants that feed a tensor input which
the legacy op cannot take as an attribute are materialised as ``fill_constant`` / ``assign_value``
ops. An op without a translation raises ``UnsupportedPirOpError`` naming the op, its index and its
operands. Only decoding exists: sampan writes programs as ``.pdmodel``.

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
    """Translate PIR json bytes (or str) into a Program of legacy ops. See ``load_pir_json``."""
    return load_pir_json(data, path).program


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
        self.vectors = {}       # value id -> [var names]   (0.combine, ops returning vectors)
        self.consts = {}        # value id -> (python value, dtype name, shape)
        self.feeds = []         # (col, name)
        self.fetches = []       # (col, var name, alias)
        self.params = []
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
        if vid in self.names:
            return self.names[vid]
        if vid in self.consts:
            return self._materialize(vid)
        if vid in self.vectors:
            raise PirFormatError(f"PIR op {self.where()}: operand {i} is a vector where a tensor is expected.")
        raise PirFormatError(f"PIR op {self.where()}: operand {i} (%{vid}) is used before it is defined.")

    def inp_list(self, op, i):
        vid = self.operand(op, i)
        if vid in self.vectors:
            return list(self.vectors[vid])
        name = self.inp(op, i)
        return [] if name is None else [name]

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

    def _materialize(self, vid):
        value, dtype, shape = self.consts[vid]
        name = f"{self._fresh('fill_constant' if not isinstance(value, list) else 'assign_value')}.tmp_0"
        dt = convert_dtype(dtype)
        if isinstance(value, list):
            shape = [len(value)]
            field_, code = ("int64_values", "longs") if dt.name == "int64" else ("int32_values", "ints")
            self.block.create_var(name=name, shape=shape, dtype=dt)
            self.emit("assign_value", {}, {"Out": [name]},
                      [("dtype", "int", dt.proto), ("shape", "ints", shape), (field_, code, [int(x) for x in value])])
        else:
            self.block.create_var(name=name, shape=list(shape), dtype=dt)
            self.emit("fill_constant", {}, {"Out": [name]},
                      [("dtype", "int", dt.proto), ("force_cpu", "bool", False), ("place_type", "int", -1),
                       ("shape", "longs", [int(s) for s in shape]), ("str_value", "string", repr(value)),
                       ("value", "float", float(value))])
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
    "1.shape64": ("shape", ["Input"], ["Out"], {}, []),
    "1.where": ("where", ["Condition", "X", "Y"], ["Out"], {}, []),
    "1.stack": ("stack", ["X*"], ["Y"], {"axis": ("axis", "int")}, []),
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

# attrs of constant operands folded into legacy attributes: PIR id -> {operand index: (attr, type)}
_FOLDED = {"1.top_k": {1: ("k", "int")}, "1.pad3d": {1: ("paddings", "ints")}}


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
    value = op.attrs["value"]
    dtype = op.attrs.get("dtype", "float32")
    if dtype in ("int32", "int64", "int16", "int8", "uint8") and float(value).is_integer():
        value = int(value)
    elif dtype == "bool":
        value = bool(value)
    tr.consts[vid] = (value, dtype, list(op.attrs.get("shape", [1])))


def _full_int_array(tr, op):
    vid, _ = op.results[0]
    tr.consts[vid] = ([int(x) for x in op.attrs["value"]], op.attrs.get("dtype", "int64"), None)


def _combine(tr, op):
    names = []
    for i in range(len(op.operands)):
        names.append(tr.inp(op, i))
    tr.vectors[op.results[0][0]] = names


def _builtin_split(tr, op):
    vec = tr.vectors.get(op.operands[0])
    if vec is None or len(vec) != len(op.results):
        raise PirFormatError(f"PIR op {tr.where()}: splits %{op.operands[0]}, which is not a vector of "
                             f"{len(op.results)} values.")
    for (vid, _), name in zip(op.results, vec):
        tr.names[vid] = name


def _builtin_slice(tr, op):
    vec = tr.vectors.get(op.operands[0])
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
    inputs = {"X": [x], "Shape": [], "ShapeTensor": []}
    attrs = []
    if tr.is_const(op, 1):
        attrs.append(("shape", "ints", [int(s) for s in tr.const(op, 1, "shape")]))
    elif tr.operand(op, 1) in tr.vectors:
        inputs["ShapeTensor"] = tr.inp_list(op, 1)
        attrs.append(("shape", "ints", []))
    else:
        inputs["Shape"] = [tr.inp(op, 1)]
        attrs.append(("shape", "ints", []))
    tr.emit("reshape2", inputs, {"Out": [out], "XShape": [_xshape(tr, out, x)]}, attrs)


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
        dtype = op.attrs.get("dtype")
        out_dtype = convert_dtype(dtype).proto if dtype not in (None, "undefined", "") else -1
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
        axes = tr.const(op, 1, "axes")
        (out,) = tr.outputs(op, legacy, 1)
        tr.emit(legacy, {"X": [x]}, {"Out": [out], "XShape": [_xshape(tr, out, x)]},
                [("axes", "ints", [int(a) for a in (axes if isinstance(axes, list) else [axes])])])
    return fn


def _slice(tr, op):
    x = tr.inp(op, 0)
    starts, ends = tr.const(op, 1, "starts"), tr.const(op, 2, "ends")
    (out,) = tr.outputs(op, "slice", 1)
    tr.emit("slice", {"Input": [x]}, {"Out": [out]},
            [("axes", "ints", [int(a) for a in op.attrs.get("axes", [])]), ("starts", "ints", [int(s) for s in starts]),
             ("ends", "ints", [int(e) for e in ends]),
             ("infer_flags", "ints", [int(a) for a in op.attrs.get("infer_flags", [1] * len(starts))]),
             ("decrease_axis", "ints", [int(a) for a in op.attrs.get("decrease_axis", [])])])


def _split(tr, op):
    x = tr.inp(op, 0)
    if op.name == "1.split_with_num":
        num, sections, axis = int(op.attrs["num"]), [], int(tr.const(op, 1, "axis"))
    else:
        sections, num, axis = [int(s) for s in tr.const(op, 1, "sections")], 0, int(tr.const(op, 2, "axis"))
    (outs,) = tr.outputs(op, "split", 1)
    tr.emit("split", {"X": [x]}, {"Out": outs}, [("axis", "int", axis), ("num", "int", num),
                                                 ("sections", "ints", sections)])


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
    (out,) = tr.outputs(op, "gather", 1)
    axis = int(tr.const(op, 2, "axis")) if len(op.operands) > 2 else 0
    tr.emit("gather", {"X": [x], "Index": [index]}, {"Out": [out]}, [("axis", "int", axis)])


def _int_list_op(legacy, attr):
    def fn(tr, op):
        x = tr.inp(op, 0)
        values = tr.const(op, 1, attr)
        (out,) = tr.outputs(op, legacy, 1)
        tr.emit(legacy, {"X": [x]}, {"Out": [out]}, [(attr, "ints", [int(v) for v in values])])
    return fn


def _clip(tr, op):
    x = tr.inp(op, 0)
    lo, hi = float(tr.const(op, 1, "min")), float(tr.const(op, 2, "max"))
    (out,) = tr.outputs(op, "clip", 1)
    tr.emit("clip", {"X": [x]}, {"Out": [out]}, [("min", "float", lo), ("max", "float", hi)])


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
    "1.tile": _int_list_op("tile", "repeat_times"), "1.expand": _int_list_op("expand_v2", "shape"),
    "1.clip": _clip, "1.bilinear_interp": _interp("bilinear_interp_v2"),
    "1.nearest_interp": _interp("nearest_interp_v2"), "1.conv2d_transpose": _conv2d_transpose,
}
