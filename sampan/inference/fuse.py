"""Inference passes over a program's ops (``Config.switch_ir_optim``, on by default as in Paddle).

Each pass takes and returns a list of ``plan.OpNode`` and works on names; values known before
the first run (parameters and folded results) are in ``consts``. The passes are the ones
Paddle's analysis predictor applies on CPU, restricted to what changes NumPy's cost:

* ``drop_identities``: ``scale(x, 1, 0)`` (appended by Paddle 2.x's ``save_inference_model``)
  and test-mode ``dropout`` are removed; their readers read the input.
* ``fold_constants``: an op whose inputs are all constants runs once, here (the ``reshape2`` of
  a conv bias that ``jit.save`` emits, ``fill_constant``, ``shape`` of a parameter...).
* ``fuse_epilogues``: ``conv2d`` / ``depthwise_conv2d`` followed by a per-channel bias add, a
  test-mode ``batch_norm`` and ``relu``, and ``matmul_v2`` followed by a bias add and ``relu``,
  become one step. The batch norm and the conv bias are folded into the filter and one bias
  vector (in float64, then cast back: Paddle's ``conv_bn_fuse_pass``), and the bias add and the
  relu run in place on the product, so an activation is written once instead of three or four
  times (each extra pass over a 64x32x32x32 float32 activation costs as much as a sixth of the
  convolution itself).

A fused conv step calls the registry conv kernel (same checks, same error messages) on the folded
filter, a fused linear step calls ``np.matmul`` itself (a contraction mismatch is reported as
``matmul_v2`` reports it); both then apply the epilogue, and are named
``conv2d+elementwise_add+batch_norm+relu`` (say) in errors.
Results equal the unfused program's to float32 rounding (the folded filter is rounded once).
"""
from __future__ import annotations

import collections

import numpy as np

from .plan import OpNode

__all__ = ["optimize", "fold_constants", "fuse_epilogues"]

_BN_SIDE_OUTPUTS = ("MeanOut", "VarianceOut", "SavedMean", "SavedVariance", "ReserveSpace")


def optimize(nodes, consts, keep, persist, aliases):
    """All passes. ``consts`` (name -> array) is extended in place with folded values;
    ``keep``: names that must stay observable (the fetch targets); ``aliases`` receives
    ``{output name: input name}`` of the identity ops removed."""
    nodes = _drop_test_bn_side_outputs(nodes, keep)
    nodes = drop_identities(nodes, aliases)
    nodes = fold_constants(nodes, consts, keep, persist)
    writes = _write_counts(nodes)
    frozen = {n: v for n, v in consts.items() if not writes[n]}   # values no remaining op rewrites
    return fuse_epilogues(nodes, frozen, keep)


def _write_counts(nodes):
    c = collections.Counter()
    for nd in nodes:
        c.update(nd.output_names())
    return c


def _bn_test_mode(attrs):
    return bool(attrs.get("is_test")) and not attrs.get("trainable_statistics")


def _drop_test_bn_side_outputs(nodes, keep):
    """In test mode ``batch_norm`` returns Mean/Variance unchanged as MeanOut/VarianceOut (the
    same variables); dropping those writes lets the statistics count as constants."""
    out = []
    for nd in nodes:
        if nd.type == "batch_norm" and _bn_test_mode(nd.attrs):
            outs = [(s, names if s not in _BN_SIDE_OUTPUTS or any(n in keep for n in names) else [], d)
                    for s, names, d in nd.outputs]
            nd = OpNode(nd.index, nd.type, nd.kernel, nd.attrs, nd.inputs, outs, nd.random)
        out.append(nd)
    return out


def _is_identity(nd):
    a = nd.attrs
    if nd.type == "scale":
        return (float(a.get("scale", 1.0)) == 1.0 and float(a.get("bias", 0.0)) == 0.0
                and not nd.first("ScaleTensor"))
    if nd.type == "dropout":
        return bool(a.get("is_test")) and (a.get("dropout_implementation") == "upscale_in_train"
                                           or float(a.get("dropout_prob", 0.5)) == 0.0) and not nd.out("Mask")
    return False


def drop_identities(nodes, aliases):
    """Remove ``scale(x, 1, 0)`` (what Paddle 2.x's save_inference_model appends) and test-mode
    ``dropout`` of ``upscale_in_train``: their readers read the input instead. Kernels never
    write into their inputs, so sharing the array is safe."""
    writes = _write_counts(nodes)
    rename = {}
    out = []
    for nd in nodes:
        if rename:
            nd = OpNode(nd.index, nd.type, nd.kernel, nd.attrs,
                        [(s, [rename.get(n, n) for n in names], d) for s, names, d in nd.inputs],
                        nd.outputs, nd.random, nd.direct)
        if _is_identity(nd):
            src, dst = nd.first("X"), nd.out("Out")
            others = [n for n in nd.output_names() if n != dst]
            if src and dst and writes[dst] == 1 and writes[src] <= 1 and not others:
                rename[dst] = src
                aliases[dst] = src
                continue
        out.append(nd)
    return out


def fold_constants(nodes, consts, keep, persist):
    """Run the ops whose inputs are all constants now; their outputs join ``consts``.

    Only names with a single writer take part (a name written twice is not one value), and ops
    writing persistable variables or drawing random numbers always run."""
    writes = _write_counts(nodes)
    known = {n for n in consts if not writes[n]}     # a parameter some op overwrites is not a constant
    rest = []
    for nd in nodes:
        outs = nd.output_names()
        ins = nd.input_names()
        if (nd.random or any(writes[n] != 1 or n in persist for n in outs)
                or not all(n in known for n in ins)):
            rest.append(nd)
            continue
        arrays = {s: ([consts[n] for n in names] if dup else (consts[names[0]] if names else None))
                  for s, names, dup in nd.inputs}
        try:
            with np.errstate(all="ignore"):
                res = nd.kernel(arrays, nd.attrs)
        except Exception:
            rest.append(nd)          # let it fail at run time, with the Executor's message
            continue
        for s, names, _ in nd.outputs:
            vals = res.get(s)
            vals = vals if isinstance(vals, list) else [vals]
            for n, v in zip(names, vals):
                if v is not None:
                    consts[n] = v
                    known.add(n)
    return rest


# ---------------------------------------------------------------------------- epilogue fusion
def _consumers(nodes):
    c = collections.defaultdict(list)
    for i, nd in enumerate(nodes):
        for n in set(nd.input_names()):
            c[n].append(i)
    return c


def _only_consumer(name, consumers, keep):
    """Index of the single op reading ``name`` (None when fetched or read by several)."""
    if name in keep:
        return None
    users = consumers.get(name, [])
    return users[0] if len(users) == 1 else None


def _channel_bias(add, x_name, consts, n_out, channel_axis, rank):
    """The per-channel bias vector of an ``elementwise_add(x, b)``, or None when it is not one."""
    if add.type != "elementwise_add" or add.first("X") != x_name:
        return None
    b = consts.get(add.first("Y"))
    if b is None or b.size != n_out or b.dtype.kind != "f":
        return None
    axis = add.attrs.get("axis", -1)
    if b.ndim == 1:
        ok = (axis == -1 and channel_axis == rank - 1) or axis == channel_axis
    else:
        want = [1] * rank
        want[channel_axis] = n_out
        ok = axis == -1 and list(b.shape) == want[rank - b.ndim:] and b.ndim <= rank
    return b.reshape(-1) if ok else None


def fuse_epilogues(nodes, consts, keep):
    consumers = _consumers(nodes)
    removed = set()
    out = []
    for i, nd in enumerate(nodes):
        if i in removed:
            continue
        if nd.type in ("conv2d", "depthwise_conv2d"):
            fused = _fuse_conv(i, nodes, consts, keep, consumers)
        elif nd.type == "matmul_v2":
            fused = _fuse_matmul(i, nodes, consts, keep, consumers)
        else:
            fused = None
        if fused is None:
            out.append(nd)
            continue
        new, used = fused
        removed.update(used)
        out.append(new)
    return out


def _next(i, name, nodes, consumers, keep, types):
    j = _only_consumer(name, consumers, keep)
    if j is None or j <= i or nodes[j].type not in types:
        return None
    return j


def _fuse_conv(i, nodes, consts, keep, consumers):
    nd = nodes[i]
    fmt = nd.attrs.get("data_format", "NCHW")
    w = consts.get(nd.first("Filter"))
    if w is None or w.ndim != 4 or w.dtype.kind != "f" or fmt not in ("NCHW", "NHWC", "AnyLayout"):
        return None
    m = w.shape[0]
    cax = 3 if fmt == "NHWC" else 1
    name, used, chain = nd.out("Output"), [], [nd.type]
    bias = bn = None
    relu = False
    j = _next(i, name, nodes, consumers, keep, ("elementwise_add",))
    if j is not None:
        b = _channel_bias(nodes[j], name, consts, m, cax, 4)
        if b is not None:
            bias, name = b, nodes[j].out("Out")
            used.append(j)
            chain.append("elementwise_add")
    j = _next(i, name, nodes, consumers, keep, ("batch_norm",))
    if j is not None and _bn_foldable(nodes[j], name, consts, m, fmt):
        bn = nodes[j]
        name = bn.out("Y")
        used.append(j)
        chain.append("batch_norm")
    j = _next(i, name, nodes, consumers, keep, ("relu",))
    if j is not None:
        relu, name = True, nodes[j].out("Out")
        used.append(j)
        chain.append("relu")
    if not used:
        return None
    w2, b2 = _fold_bn(w, bias, bn, consts, m)
    shape = [1, 1, 1, 1]
    shape[cax] = m
    direct = _conv_step(nd.kernel, nd.attrs, w2, b2.reshape(shape) if b2 is not None else None, relu)
    ins = [(s, names, d) for s, names, d in nd.inputs if s == "Input"]
    outs = [("Output", [name], False)]
    return OpNode(nd.index, "+".join(chain), nd.kernel, nd.attrs, ins, outs, direct=direct), used


def _bn_foldable(bn, x_name, consts, m, fmt):
    a = bn.attrs
    if bn.first("X") != x_name or not (_bn_test_mode(a) or a.get("use_global_stats")):
        return False
    if a.get("data_layout", "NCHW") != ("NHWC" if fmt == "NHWC" else "NCHW"):
        return False
    if any(names for s, names, _ in bn.outputs if s != "Y"):
        return False                 # training-mode statistics are written: not a pure affine map
    for slot in ("Scale", "Bias", "Mean", "Variance"):
        v = consts.get(bn.first(slot)) if bn.first(slot) else None
        if slot in ("Mean", "Variance") and v is None:
            return False
        if v is None and bn.first(slot):
            return False
        if v is not None and v.size != m:
            return False
    return True


def _fold_bn(w, bias, bn, consts, m):
    """Filter and bias with the batch norm folded in (computed in float64, cast back)."""
    if bn is None:
        return w, bias
    get = (lambda s: consts[bn.first(s)].astype(np.float64).reshape(-1) if bn.first(s) else None)
    scale, beta, mean, var = get("Scale"), get("Bias"), get("Mean"), get("Variance")
    scale = np.ones(m) if scale is None else scale
    beta = np.zeros(m) if beta is None else beta
    s = scale / np.sqrt(var + float(bn.attrs.get("epsilon", 1e-5)))
    b = np.zeros(m) if bias is None else bias.astype(np.float64)
    w2 = (w.astype(np.float64) * s.reshape(-1, 1, 1, 1)).astype(w.dtype)
    return w2, ((b - mean) * s + beta).astype(w.dtype)


def _fuse_matmul(i, nodes, consts, keep, consumers):
    nd = nodes[i]
    y = consts.get(nd.first("Y"))
    if y is None or y.ndim != 2 or y.dtype.kind != "f" or nd.attrs.get("trans_x"):
        return None
    n_out = y.shape[0] if nd.attrs.get("trans_y") else y.shape[1]
    name, used, chain = nd.out("Out"), [], ["matmul_v2"]
    bias, relu = None, False
    j = _next(i, name, nodes, consumers, keep, ("elementwise_add",))
    if j is not None:
        add = nodes[j]
        b = consts.get(add.first("Y"))
        if (add.first("X") == name and b is not None and b.ndim == 1 and b.size == n_out and b.dtype.kind == "f"
                and add.attrs.get("axis", -1) == -1):
            bias, name = b, add.out("Out")
            used.append(j)
            chain.append("elementwise_add")
    j = _next(i, name, nodes, consumers, keep, ("relu",))
    if j is not None:
        relu, name = True, nodes[j].out("Out")
        used.append(j)
        chain.append("relu")
    if not used:
        return None
    direct = _linear_step(y.T if nd.attrs.get("trans_y") else y, bias, relu)
    ins = [(s, names, d) for s, names, d in nd.inputs if s == "X"]
    return OpNode(nd.index, "+".join(chain), nd.kernel, nd.attrs, ins, [("Out", [name], False)],
                  direct=direct), used


# The fused steps take the activation and return the result (the plan's direct steps: no dicts).
# Their products are fresh arrays (np.matmul, the conv kernel's matmul), so the epilogue may
# write into them; the weights are baked in and never written.
def _linear_step(w, bias, relu):
    """``x @ w (+ bias) (relu)``; ``w`` may be a transposed view (BLAS takes it as is)."""
    add = bias is not None

    def linear(x):
        try:
            y = np.matmul(x, w)
        except ValueError:
            raise ValueError(f"matmul_v2: the contracted dims differ: X {list(np.shape(x))} vs Y {list(w.shape)} "
                             "(the layer's weight).") from None
        if y.__class__ is not np.ndarray:
            y = np.asarray(y)
        if add:
            if y.dtype == bias.dtype:
                y += bias
            else:
                y = y + bias
        if relu:
            np.maximum(y, 0, out=y)
        return y
    return linear


def _conv_step(kernel, attrs, w, bias, relu):
    """The registry conv kernel (its checks and messages) on the folded filter, then bias and relu."""
    def conv(x):
        y = kernel({"Input": x, "Filter": w}, attrs)["Output"]
        if not y.flags.writeable or np.may_share_memory(y, x):
            y = y.copy()
        if bias is not None:
            if y.dtype == bias.dtype:
                y += bias
            else:
                y = y + bias
        if relu:
            np.maximum(y, 0, out=y)
        return y
    return conv
