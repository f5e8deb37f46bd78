"""The predictor's lean runner: a Program compiled once into a flat list of kernel calls.

Why a runner of its own rather than ``static.Executor``: the Executor serves every program
(training programs, fetching any variable by name, feeds checked per call, persistables in a
Scope), so each op pays for name lookups in dicts, a closure per read, the slot walk of the op
definition and an ``np.errstate`` per kernel: about 10 us per op, as much as a small matmul. A
predictor's program, feeds and fetches are fixed when it is created, so all of that can be
resolved once. ``Plan`` does it:

* every variable gets an integer register (SSA: each write makes a new one, so later rewrites of
  a name never clobber what earlier readers see); parameters are registers holding their arrays;
* each op becomes one step ``(kernel, filled attrs, (slot, register) pairs in, (slot, register)
  pairs out, registers to free after it)``, and a fused step (``fuse.py``) is a plain
  ``array -> array`` function with no dicts at all; outputs nobody reads are not stored, and a
  temporary's register is cleared after its last reader, so peak memory stays near Paddle's
  ``enable_memory_optim``;
* with ``ir_optim`` (the default, as in Paddle) ops whose inputs are all constants are run once
  here (constant folding) and the fusion passes of ``sampan.inference.fuse`` apply.

The kernels are the registry's: the same ``forward`` functions the Executor and eager mode call.
The Executor itself is left as it is (it must stay general). On the 784-512-512-10 MLP at batch 1,
1 BLAS thread, the predictor takes ~54 us, the NumPy forward ~47 us and the Executor ~74 us with
aligned parameters (~145 us with the unaligned arrays ``load_inference_model`` currently hands it;
see ``Predictor.__init__``).
Kernel failures are reported as the Executor reports them (``ExecutionError`` naming the op, its
index, the block and the input shapes).
"""
from __future__ import annotations

import numpy as np

from ..ops.registry import get_program_op
from ..static.executor import ExecutionError
from ..static.program import VarType

__all__ = ["Plan", "OpNode"]

_SKIP_TYPES = {VarType.FEED_MINIBATCH, VarType.FETCH_LIST}


class OpNode:
    """One op of the program as the passes see it: resolved kernel, filled attrs, var names."""

    __slots__ = ("index", "type", "kernel", "attrs", "inputs", "outputs", "random", "direct")

    def __init__(self, index, type_, kernel, attrs, inputs, outputs, random=False, direct=None):
        self.index = index            # position in the program's global block (for messages)
        self.type = type_
        self.kernel = kernel          # forward(ins, attrs) -> outs
        self.attrs = attrs
        self.inputs = inputs          # [(slot, [names], duplicable)] in the op definition's order
        self.outputs = outputs        # [(slot, [names], duplicable)]
        self.random = random
        self.direct = direct          # fused steps: array -> array (one input, one output, no dicts)

    def input_names(self):
        return [n for _, names, _ in self.inputs for n in names]

    def output_names(self):
        return [n for _, names, _ in self.outputs for n in names]

    def first(self, slot):
        for s, names, _ in self.inputs:
            if s == slot:
                return names[0] if names else None
        return None

    def out(self, slot):
        for s, names, _ in self.outputs:
            if s == slot:
                return names[0] if names else None
        return None


def op_nodes(program):
    """The global block's ops (feed and fetch excluded) as ``OpNode``s, resolved in the registry."""
    block = program.global_block()
    nodes = []
    for i, o in enumerate(block.ops):
        if o.type in ("feed", "fetch"):
            continue
        od = get_program_op(o, i, block)
        ins = [(s.name, list(o.inputs.get(s.name, []) or []), s.duplicable) for s in od.inputs]
        outs = [(s.name, list(o.outputs.get(s.name, []) or []), s.duplicable) for s in od.outputs]
        nodes.append(OpNode(i, o.type, od.forward, od.fill_attrs(o.attrs), ins, outs, od.random))
    return nodes


def feed_fetch_names(program):
    """``(feed names by column, fetch var names by column)`` from the feed/fetch ops."""
    ops = program.global_block().ops
    feeds = sorted((o.attrs.get("col", 0), o.output("Out")[0]) for o in ops if o.type == "feed")
    fetches = sorted((o.attrs.get("col", 0), o.input("X")[0]) for o in ops if o.type == "fetch")
    return [n for _, n in feeds], [n for _, n in fetches]


class Plan:
    """A program compiled for repeated runs with fixed feeds and fetches.

    Args:
        program: the inference Program (its global block is run; feed/fetch ops are skipped).
        params: ``{name: ndarray}`` of the persistable variables (the predictor's Scope).
        feed_names / fetch_names: the inputs in order, the outputs in order.
        optimize: constant folding and the fusion passes (``Config.switch_ir_optim``).
    """

    def __init__(self, program, params, feed_names, fetch_names, optimize=True):
        block = program.global_block()
        self.block_idx = block.idx
        self.feed_names = list(feed_names)
        self.fetch_names = list(fetch_names)
        persist = {n for n, v in block.vars.items() if v.persistable and v.type not in _SKIP_TYPES}
        nodes = op_nodes(program)
        consts = dict(params)
        n_ops = len(nodes)
        self._aliases = {}
        if optimize:
            from .fuse import optimize as run_passes
            nodes = run_passes(nodes, consts, set(self.fetch_names), persist, self._aliases)
        self.n_ops, self.n_steps = n_ops, len(nodes)
        self._compile(nodes, consts, params)

    # ------------------------------------------------------------------ compiling
    def _compile(self, nodes, consts, params):
        base = [None]                       # register 0 stays None: absent optional inputs read it
        cur = {}                            # var name -> its current register
        fetch_src = [self._aliases.get(n, n) for n in self.fetch_names]
        read = {n for nd in nodes for n in nd.input_names()} | set(fetch_src)
        written = {n for nd in nodes for n in nd.output_names()}
        const_regs = set()
        for n, a in consts.items():       # only what the remaining ops read (folded-away weights are not kept)
            if n in read or (n in params and n in written):
                cur[n] = len(base)
                base.append(a)
                const_regs.add(cur[n])
        param_reg = {n: cur[n] for n in params if n in cur}
        self._feed_regs = []
        for n in self.feed_names:
            cur[n] = len(base)
            base.append(None)
            self._feed_regs.append(cur[n])
        staged = []                          # (node, in regs by slot, out regs by slot)
        for nd in nodes:
            ins = [(slot, [self._reg_of(cur, n, nd) for n in names], dup) for slot, names, dup in nd.inputs]
            outs = []
            for slot, names, dup in nd.outputs:
                regs = []
                for n in names:
                    cur[n] = len(base)
                    base.append(None)
                    regs.append(cur[n])
                outs.append((slot, regs, dup))
            staged.append((nd, ins, outs))
        missing = [n for n, m in zip(self.fetch_names, fetch_src) if m not in cur]
        if missing:
            raise ValueError(f"the program fetches {missing}, which no op computes and which are neither inputs "
                             "nor parameters.")
        self._fetch_regs = [cur[n] for n in fetch_src]
        # a fetched constant or input is copied on the way out: the caller must get an array of its own
        self._fetch_const = [r in const_regs or r in self._feed_regs for r in self._fetch_regs]
        # persistables an op overwrote (batch_norm statistics in training mode) are carried to the next run
        self._writeback = [(param_reg[n], cur[n]) for n in param_reg if cur[n] != param_reg[n]]
        self.written_params = [n for n in param_reg if cur[n] != param_reg[n]]
        self._param_reg = param_reg
        self._build_steps(staged, const_regs)
        self._base = base

    @staticmethod
    def _reg_of(cur, name, nd):
        r = cur.get(name)
        if r is None:
            raise ValueError(f"op {nd.index} ({nd.type}) reads variable {name!r}, which no earlier op computes "
                             "and which is neither a model input nor a parameter in the parameters file.")
        return r

    def _build_steps(self, staged, consts):
        keep = set(self._fetch_regs) | {w for _, w in self._writeback} | set(self._feed_regs) | consts
        last_read = {}
        used = set(keep)
        for k, (_, ins, _) in enumerate(staged):
            for _, rs, _ in ins:
                for r in rs:
                    last_read[r] = k
                    used.add(r)
        frees = {}
        for r, k in last_read.items():
            if r not in keep:
                frees.setdefault(k, []).append(r)
        steps = []
        for k, (nd, ins, outs) in enumerate(staged):
            free = tuple(frees.get(k, ()))
            if nd.direct is not None:
                (in_slot, (r_in,), _), = ins
                (_, (r_out,), _), = outs
                steps.append((nd.direct, None, None, r_in, None, r_out, None, free, (nd.index, nd.type, in_slot)))
                continue
            single_in = tuple((s, rs[0] if rs else 0) for s, rs, dup in ins if not dup)
            list_in = tuple((s, tuple(rs)) for s, rs, dup in ins if dup)
            single_out = tuple((s, rs[0]) for s, rs, dup in outs if not dup and rs and rs[0] in used)
            list_out = tuple((s, tuple(rs)) for s, rs, dup in outs if dup and any(r in used for r in rs))
            steps.append((None, nd.kernel, nd.attrs, single_in, list_in, single_out, list_out, free,
                          (nd.index, nd.type, None)))
        self.steps = steps

    def param_value(self, name):
        """The current value of a parameter the program rewrites (see ``written_params``)."""
        return self._base[self._param_reg[name]]

    # ------------------------------------------------------------------ running
    def run(self, feeds):
        """Run with ``feeds`` (arrays in ``feed_names`` order, already checked); return the fetches."""
        regs = self._base.copy()
        for r, a in zip(self._feed_regs, feeds):
            regs[r] = a
        with np.errstate(all="ignore"):
            for direct, kernel, attrs, single_in, list_in, single_out, list_out, frees, where in self.steps:
                if direct is not None:        # a fused step: one array in, one out
                    try:
                        regs[single_out] = direct(regs[single_in])
                    except Exception as e:
                        raise _op_error(where[0], where[1], self.block_idx, {where[2]: regs[single_in]}, e) from e
                else:
                    ins = {}
                    for s, r in single_in:
                        ins[s] = regs[r]
                    if list_in:
                        for s, rs in list_in:
                            ins[s] = [regs[r] for r in rs]
                    try:
                        outs = kernel(ins, attrs)
                        for s, r in single_out:
                            regs[r] = outs[s]
                        if list_out:
                            for s, rs in list_out:
                                for r, v in zip(rs, outs[s]):
                                    regs[r] = v
                    except Exception as e:
                        raise _op_error(where[0], where[1], self.block_idx, ins, e) from e
                for r in frees:
                    regs[r] = None
        if self._writeback:
            for p, w in self._writeback:
                self._base[p] = regs[w]
        out = [regs[r] for r in self._fetch_regs]
        for i, c in enumerate(self._fetch_const):
            if c:
                out[i] = np.array(out[i], copy=True)
        return out


def _op_error(index, type_, block_idx, ins, e):
    shapes = {k: ([list(a.shape) for a in v] if isinstance(v, list) else
                  (list(v.shape) if v is not None else None)) for k, v in ins.items()}
    return ExecutionError(f"op {index} ({type_}) of block {block_idx} failed with inputs {shapes}: {e}")
