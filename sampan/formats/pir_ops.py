"""Translations of Paddle 3.x PIR ops (``pd_op.*``, builtins) into the legacy op IR.

``pir_json`` parses the file and walks the ops; for each op id it looks up a translator here:
``_SIMPLE`` maps ids whose operands and attributes carry over one to one (with renames and
type coercions), ``_SPECIAL`` maps the ids that need constants folded into attributes, tensor-list
slots, in-place bindings or several legacy ops. Each translator gets the ``_Translator`` (``tr``)
and the ``_PirOp``.
"""
from __future__ import annotations

from ..core.dtype import BY_NAME, convert_dtype
from .pir_json import PirFormatError, UnsupportedPirOpError, _type_info

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
