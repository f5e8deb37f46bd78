"""Recurrent layers: cells (SimpleRNNCell, LSTMCell, GRUCell), the RNN / BiRNN wrappers and the
multi-layer networks SimpleRNN, LSTM and GRU, with Paddle 2.6.2's names and layouts.

* Cells hold ``weight_ih`` [G*H, C], ``weight_hh`` [G*H, H], ``bias_ih``, ``bias_hh`` [G*H]
  (G = 4 LSTM, 3 GRU, 1 SimpleRNN), all initialised Uniform(-1/sqrt(H), 1/sqrt(H)), named
  ``lstm_cell_0.w_0 / .w_1 / .b_0 / .b_1``. A ``*_attr=False`` gives a frozen constant parameter
  (weights 1, biases 0) as Paddle does. Their ``forward`` is Paddle's formula in elementary ops.
* ``SimpleRNN`` / ``LSTM`` / ``GRU`` (``RNNBase``) hold one ``RNN``/``BiRNN`` per layer (state_dict
  keys ``0.cell.*`` / ``0.cell_fw.*``) and expose the same parameters again as their own
  ``weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0[, ..._reverse]``, which come first in the
  state_dict, so each tensor appears under two keys exactly as in Paddle. The whole network runs as
  ONE ``rnn`` op (the op Paddle exports), inputs transposed to time-major around it.
* ``RNN`` / ``BiRNN`` over the three standard cells without ``sequence_length`` also run one fused
  ``rnn`` op; with custom cells, cell kwargs or ``sequence_length`` they loop over time calling
  the cell (padded steps keep the state; outputs are the cell's raw step outputs, as in Paddle).

Example:
    >>> import sampan as paddle
    >>> lstm = paddle.nn.LSTM(16, 32, num_layers=2)
    >>> y, (h, c) = lstm(paddle.randn((4, 23, 16)))
    >>> y.shape, h.shape, c.shape
    ([4, 23, 32], [2, 4, 32], [2, 4, 32])
"""
from __future__ import annotations

import math

import numpy as np

from ...core import unique_name
from ...core.dispatch import run_op
from ...core.tensor import Tensor
from .container import LayerList
from .layers import Layer

__all__ = ["RNNCellBase", "SimpleRNNCell", "LSTMCell", "GRUCell", "RNN", "BiRNN", "RNNBase",
           "SimpleRNN", "LSTM", "GRU", "rnn", "birnn", "split_states", "concat_states"]


def _api():
    import sampan
    return sampan


def _flatten(x):
    if isinstance(x, (list, tuple)):
        return [a for v in x for a in _flatten(v)]
    return [x]


def _map(fn, *xs):
    """Apply ``fn`` leaf-wise over equally nested lists/tuples."""
    if isinstance(xs[0], (list, tuple)):
        return type(xs[0])(_map(fn, *parts) for parts in zip(*xs))
    return fn(*xs)


def _batch_size(ref, idx):
    n = ref.shape[idx]
    return n if n is not None and n >= 0 else _api().shape(ref)[idx]


# ---------------------------------------------------------------------------- cells
class RNNCellBase(Layer):
    """Base class of recurrent cells: ``forward(inputs, states) -> (outputs, new_states)``."""

    def get_initial_states(self, batch_ref, shape=None, dtype=None, init_value=0.0, batch_dim_idx=0):
        """States filled with ``init_value``: ``shape`` (default ``state_shape``) nested like the states,
        each shape getting the batch size of ``batch_ref`` (dim ``batch_dim_idx``) prepended."""
        ref = _flatten(batch_ref)[0]
        shapes = self.state_shape if shape is None else shape
        if dtype is None:
            try:
                dtype = self.state_dtype
            except NotImplementedError:
                dtype = ref.dtype if getattr(ref, "dtype", None) is not None else _api().get_default_dtype()
        n = _batch_size(ref, batch_dim_idx)

        def make(s, dt):
            s = list(s)
            if s and s[0] == -1:
                s = s[1:]
            return _api().full([n] + s, init_value, dt)

        def is_shape(s):
            return isinstance(s, (list, tuple)) and all(isinstance(d, (int, np.integer)) for d in s)

        def walk(s, dt):
            if is_shape(s):
                return make(s, dt)
            dts = dt if isinstance(dt, (list, tuple)) else [dt] * len(s)
            return type(s)(walk(a, b) for a, b in zip(s, dts))
        return walk(shapes, dtype)

    @property
    def state_shape(self):
        raise NotImplementedError(f"{type(self).__name__}: implement the `state_shape` property "
                                  "(or pass `shape` to get_initial_states).")

    @property
    def state_dtype(self):
        raise NotImplementedError(f"{type(self).__name__}: implement the `state_dtype` property "
                                  "(or pass `dtype` to get_initial_states).")


def _make_cell_params(cell, gates, input_size, hidden_size, attrs):
    """``weight_ih, weight_hh, bias_ih, bias_hh`` as Paddle creates them (``*_attr=False``: frozen constant)."""
    from ..initializer import Uniform, Constant
    if hidden_size <= 0:
        raise ValueError(f"hidden_size of {type(cell).__name__} must be greater than 0, "
                         f"but now equals to {hidden_size}")
    std = 1.0 / math.sqrt(hidden_size)
    shapes = {"weight_ih": (gates * hidden_size, input_size), "weight_hh": (gates * hidden_size, hidden_size),
              "bias_ih": (gates * hidden_size,), "bias_hh": (gates * hidden_size,)}
    for name, shape in shapes.items():
        attr, is_bias = attrs[name + "_attr"], name.startswith("bias")
        if attr is not False:
            p = cell.create_parameter(shape, attr, is_bias=is_bias, default_initializer=Uniform(-std, std))
        else:
            init = Constant(0.0 if is_bias else 1.0)
            p = cell.create_parameter(shape, None, is_bias=is_bias, default_initializer=init)
            p.stop_gradient = True
        setattr(cell, name, p)
    cell.input_size, cell.hidden_size = input_size, hidden_size


def _linear_gates(cell, inputs, h):
    """(x W_ih^T + b_ih, h W_hh^T + b_hh) with Paddle's ops (matmul_v2 transpose_y, elementwise_add)."""
    p = _api()
    xg = p.matmul(inputs, cell.weight_ih, transpose_y=True)
    if cell.bias_ih is not None:
        xg = xg + cell.bias_ih
    hg = p.matmul(h, cell.weight_hh, transpose_y=True)
    if cell.bias_hh is not None:
        hg = hg + cell.bias_hh
    return xg, hg


class SimpleRNNCell(RNNCellBase):
    """Elman cell: ``h = act(W_ih x + b_ih + W_hh h_prev + b_hh)``, ``act`` tanh or relu.

    Example:
        >>> import sampan as paddle
        >>> cell = paddle.nn.SimpleRNNCell(16, 32)
        >>> y, h = cell(paddle.randn((4, 16)))
        >>> y.shape
        [4, 32]
    """

    def __init__(self, input_size, hidden_size, activation="tanh", weight_ih_attr=None, weight_hh_attr=None,
                 bias_ih_attr=None, bias_hh_attr=None, name=None):
        super().__init__()
        if activation not in ("tanh", "relu"):
            raise ValueError(f"activation for SimpleRNNCell should be tanh or relu, but get {activation}")
        _make_cell_params(self, 1, input_size, hidden_size, locals())
        self.activation = activation

    def forward(self, inputs, states=None):
        if states is None:
            states = self.get_initial_states(inputs, self.state_shape)
        xg, hg = _linear_gates(self, inputs, states)
        p = _api()
        h = p.tanh(xg + hg) if self.activation == "tanh" else p.nn.functional.relu(xg + hg)
        return h, h

    @property
    def state_shape(self):
        return (self.hidden_size,)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        return s + (f", activation={self.activation}" if self.activation != "tanh" else "")


class LSTMCell(RNNCellBase):
    """LSTM cell, gates i, f, c, o: ``c = f c_prev + i tanh(g_c)``, ``h = o tanh(c)``; states ``(h, c)``.

    Example:
        >>> import sampan as paddle
        >>> cell = paddle.nn.LSTMCell(16, 32)
        >>> y, (h, c) = cell(paddle.randn((4, 16)))
        >>> c.shape
        [4, 32]
    """

    def __init__(self, input_size, hidden_size, weight_ih_attr=None, weight_hh_attr=None, bias_ih_attr=None,
                 bias_hh_attr=None, name=None):
        super().__init__()
        _make_cell_params(self, 4, input_size, hidden_size, locals())

    def forward(self, inputs, states=None):
        if states is None:
            states = self.get_initial_states(inputs, self.state_shape)
        pre_h, pre_c = states
        p = _api()
        xg, hg = _linear_gates(self, inputs, pre_h)
        i, f, g, o = p.split(xg + hg, num_or_sections=4, axis=-1)
        c = p.sigmoid(f) * pre_c + p.sigmoid(i) * p.tanh(g)
        h = p.sigmoid(o) * p.tanh(c)
        return h, (h, c)

    @property
    def state_shape(self):
        return ((self.hidden_size,), (self.hidden_size,))

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class GRUCell(RNNCellBase):
    """GRU cell, gates r, z, c with the reset applied after the hidden matmul:
    ``c = tanh(x_c + r (W_hc h + b_hc))``, ``h = z h_prev + (1 - z) c``.

    Example:
        >>> import sampan as paddle
        >>> cell = paddle.nn.GRUCell(16, 32)
        >>> y, h = cell(paddle.randn((4, 16)))
        >>> h.shape
        [4, 32]
    """

    def __init__(self, input_size, hidden_size, weight_ih_attr=None, weight_hh_attr=None, bias_ih_attr=None,
                 bias_hh_attr=None, name=None):
        super().__init__()
        _make_cell_params(self, 3, input_size, hidden_size, locals())

    def forward(self, inputs, states=None):
        if states is None:
            states = self.get_initial_states(inputs, self.state_shape)
        p = _api()
        xg, hg = _linear_gates(self, inputs, states)
        x_r, x_z, x_c = p.split(xg, num_or_sections=3, axis=1)
        h_r, h_z, h_c = p.split(hg, num_or_sections=3, axis=1)
        r = p.sigmoid(x_r + h_r)
        z = p.sigmoid(x_z + h_z)
        c = p.tanh(x_c + r * h_c)
        h = (states - c) * z + c
        return h, h

    @property
    def state_shape(self):
        return (self.hidden_size,)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


# ---------------------------------------------------------------------------- the fused op
def _mode_of(cell):
    if isinstance(cell, SimpleRNNCell):
        return "RNN_TANH" if cell.activation == "tanh" else "RNN_RELU"
    return {LSTMCell: "LSTM", GRUCell: "GRU"}[type(cell)]


def _rnn_op(x, states, weights, seq_len, mode, input_size, hidden_size, num_layers, bidirect,
            dropout=0.0, training=True):
    """The ``rnn`` op on time-major ``x``; returns (Out, [State...])."""
    res = run_op("rnn", {"Input": x, "PreState": list(states), "WeightList": list(weights),
                         "SequenceLength": seq_len},
                 {"dropout_prob": float(dropout), "is_bidirec": bool(bidirect), "input_size": int(input_size),
                  "hidden_size": int(hidden_size), "num_layers": int(num_layers), "mode": mode,
                  "is_test": not training})
    return res["Out"], res["State"]


def _fusable(cells, kwargs, sequence_length):
    types = (SimpleRNNCell, LSTMCell, GRUCell)
    return (not kwargs and sequence_length is None
            and all(type(c) in types for c in cells)   # exact types: a subclass may change forward
            and len({type(c) for c in cells}) == 1
            and all(getattr(c, "activation", None) == getattr(cells[0], "activation", None) for c in cells))


def _fused_cells(cells, inputs, initial_states, time_major, training):
    """RNN / BiRNN over standard cells as one ``rnn`` op (1 layer, 1 or 2 directions)."""
    p = _api()
    x = inputs if time_major else p.transpose(inputs, [1, 0, 2])
    lstm = isinstance(cells[0], LSTMCell)
    if initial_states is None:
        initial_states = [c.get_initial_states(x, batch_dim_idx=1) for c in cells]
    per_dir = [list(s) if lstm else [s] for s in initial_states]   # [direction][component]
    pre = [p.stack([d[k] for d in per_dir]) for k in range(len(per_dir[0]))]
    weights = [w for c in cells for w in (c.weight_ih, c.weight_hh)] + \
              [b for c in cells for b in (c.bias_ih, c.bias_hh)]
    out, states = _rnn_op(x, pre, weights, None, _mode_of(cells[0]), cells[0].input_size,
                          cells[0].hidden_size, 1, len(cells) == 2, training=training)
    out = out if time_major else p.transpose(out, [1, 0, 2])
    comps = [p.unstack(s, axis=0) for s in states]                 # [component][direction]
    finals = [tuple(comp[d] for comp in comps) if lstm else comps[0][d] for d in range(len(cells))]
    return out, finals


# ---------------------------------------------------------------------------- time loops
def rnn(cell, inputs, initial_states=None, sequence_length=None, time_major=False, is_reverse=False, **kwargs):
    """Run ``cell`` over the time steps of ``inputs``; returns ``(outputs, final_states)``.

    Padded steps (``t >= sequence_length[b]``) keep the previous state; the outputs there are
    the cell's raw step outputs (as Paddle's ``paddle.nn.RNN``).
    """
    p = _api()
    if _fusable([cell], kwargs, sequence_length) and not is_reverse:
        states = None if initial_states is None else [initial_states]
        out, finals = _fused_cells([cell], inputs, states, time_major, cell.training)
        return out, finals[0]
    if initial_states is None:
        initial_states = cell.get_initial_states(batch_ref=inputs, batch_dim_idx=1 if time_major else 0)
    if not time_major:
        inputs = _map(lambda x: p.transpose(x, [1, 0] + list(range(2, len(x.shape)))), inputs)
    T = _flatten(inputs)[0].shape[0]
    if T is None or T < 0:
        raise ValueError("rnn: the number of time steps must be known to loop over a cell; "
                         "use nn.LSTM/GRU/SimpleRNN (one rnn op) for a dynamic length.")
    mask = None
    if sequence_length is not None:
        steps = p.unsqueeze(p.arange(T, dtype=sequence_length.dtype), -1)       # [T, 1]
        mask = p.unsqueeze(p.cast(p.less_than(steps, p.unsqueeze(sequence_length, 0)),
                                  _flatten(inputs)[0].dtype), -1)              # [T, N, 1]
    order = range(T - 1, -1, -1) if is_reverse else range(T)
    states, outputs = initial_states, [None] * T
    for t in order:
        step_out, new_states = cell(_map(lambda x, t=t: x[t], inputs), states, **kwargs)
        if mask is not None:
            m = mask[t]
            new_states = _map(lambda old, new, m=m: new * m + old * (1.0 - m), states, new_states)
        states = new_states
        outputs[t] = step_out
    axis = 0 if time_major else 1
    final = _map(lambda *xs: p.stack(list(xs), axis=axis), *outputs)
    return final, states


def birnn(cell_fw, cell_bw, inputs, initial_states=None, sequence_length=None, time_major=False, **kwargs):
    """Forward and reverse ``rnn`` over ``inputs``, outputs concatenated on the last axis."""
    if _fusable([cell_fw, cell_bw], kwargs, sequence_length):
        out, finals = _fused_cells([cell_fw, cell_bw], inputs, initial_states, time_major, cell_fw.training)
        return out, tuple(finals)
    if initial_states is None:
        idx = 1 if time_major else 0
        # Paddle builds both from cell_fw (the cells must then share state shapes)
        states_fw = cell_fw.get_initial_states(batch_ref=inputs, batch_dim_idx=idx)
        states_bw = cell_fw.get_initial_states(batch_ref=inputs, batch_dim_idx=idx)
    else:
        states_fw, states_bw = initial_states
    out_fw, states_fw = rnn(cell_fw, inputs, states_fw, sequence_length, time_major=time_major, **kwargs)
    out_bw, states_bw = rnn(cell_bw, inputs, states_bw, sequence_length, time_major=time_major,
                            is_reverse=True, **kwargs)
    outputs = _map(lambda a, b: _api().concat([a, b], -1), out_fw, out_bw)
    return outputs, (states_fw, states_bw)


class RNN(Layer):
    """Run a cell over a sequence (``is_reverse`` to go backwards in time).

    Example:
        >>> import sampan as paddle
        >>> rnn = paddle.nn.RNN(paddle.nn.SimpleRNNCell(16, 32))
        >>> y, h = rnn(paddle.rand((4, 23, 16)), paddle.randn((4, 32)))
        >>> y.shape, h.shape
        ([4, 23, 32], [4, 32])
    """

    def __init__(self, cell, is_reverse=False, time_major=False):
        super().__init__()
        self.cell = cell
        if not hasattr(cell, "call"):
            cell.call = cell.forward
        self.is_reverse = is_reverse
        self.time_major = time_major

    def forward(self, inputs, initial_states=None, sequence_length=None, **kwargs):
        return rnn(self.cell, inputs, initial_states=initial_states, sequence_length=sequence_length,
                   time_major=self.time_major, is_reverse=self.is_reverse, **kwargs)


class BiRNN(Layer):
    """A forward and a backward cell over the same sequence; outputs concatenated.

    Example:
        >>> import sampan as paddle
        >>> rnn = paddle.nn.BiRNN(paddle.nn.LSTMCell(16, 32), paddle.nn.LSTMCell(16, 32))
        >>> y, ((h_fw, c_fw), (h_bw, c_bw)) = rnn(paddle.rand((2, 23, 16)))
        >>> y.shape
        [2, 23, 64]
    """

    def __init__(self, cell_fw, cell_bw, time_major=False):
        super().__init__()
        self.cell_fw = cell_fw
        self.cell_bw = cell_bw
        if cell_fw.input_size != cell_bw.input_size:
            raise ValueError(f"input size of forward cell({cell_fw.input_size}) does not equals "
                             f"that of backward cell({cell_bw.input_size})")
        for cell in (cell_fw, cell_bw):
            if not hasattr(cell, "call"):
                cell.call = cell.forward
        self.time_major = time_major

    def forward(self, inputs, initial_states=None, sequence_length=None, **kwargs):
        if isinstance(initial_states, (list, tuple)) and len(initial_states) != 2:
            raise ValueError("BiRNN: initial_states must hold 2 entries (forward, backward). "
                             f"Received {len(initial_states)}.")
        return birnn(self.cell_fw, self.cell_bw, inputs, initial_states, sequence_length, self.time_major,
                     **kwargs)


def split_states(states, bidirectional=False, state_components=1):
    """[L*D, N, H] state tensor(s) -> per-layer (and per-direction) cell states."""
    p = _api()
    if state_components == 1:
        states = p.unstack(states)
        return states if not bidirectional else list(zip(states[::2], states[1::2]))
    if len(states) != state_components:
        raise ValueError(f"split_states: expected {state_components} state components, received {len(states)}.")
    per_cell = list(zip(*[p.unstack(s) for s in states]))
    return per_cell if not bidirectional else list(zip(per_cell[::2], per_cell[1::2]))


def concat_states(states, bidirectional=False, state_components=1):
    """Inverse of ``split_states``."""
    p = _api()
    flat = _flatten(states)
    if state_components == 1:
        return p.stack(flat)
    return tuple(p.stack(flat[i::state_components]) for i in range(state_components))


# ---------------------------------------------------------------------------- networks
class RNNBase(LayerList):
    """Multi-layer (bidirectional) recurrent network run as one ``rnn`` op.

    It is a ``LayerList`` of ``RNN``/``BiRNN`` layers (as in Paddle) whose parameters are also
    registered on the network itself.
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, direction="forward", time_major=False,
                 dropout=0.0, weight_ih_attr=None, weight_hh_attr=None, bias_ih_attr=None, bias_hh_attr=None):
        super().__init__()
        bidirect = ("bidirectional", "bidirect")
        if direction not in bidirect + ("forward",):
            raise ValueError("direction should be forward or bidirect (or bidirectional), "
                             f"received direction = {direction}")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.dropout, self.time_major, self.num_layers = dropout, time_major, num_layers
        self.num_directions = 2 if direction in bidirect else 1
        self.state_components = 2 if mode == "LSTM" else 1
        kw = {"weight_ih_attr": weight_ih_attr, "weight_hh_attr": weight_hh_attr,
              "bias_ih_attr": bias_ih_attr, "bias_hh_attr": bias_hh_attr}
        cls = {"LSTM": LSTMCell, "GRU": GRUCell}.get(mode, SimpleRNNCell)
        if cls is SimpleRNNCell:
            kw["activation"] = self.activation
        for i in range(num_layers):
            size = input_size if i == 0 else hidden_size * self.num_directions
            if self.num_directions == 1:
                self.append(RNN(cls(size, hidden_size, **kw), False, time_major))
            else:
                self.append(BiRNN(cls(size, hidden_size, **kw), cls(size, hidden_size, **kw), time_major))
        self.could_use_cudnn = len(self.parameters()) == num_layers * 4 * self.num_directions
        names = []
        for layer in range(num_layers):
            for d in range(self.num_directions):
                sfx = "_reverse" if d else ""
                names += [f"weight_ih_l{layer}{sfx}", f"weight_hh_l{layer}{sfx}"]
                if bias_ih_attr is not False:
                    names.append(f"bias_ih_l{layer}{sfx}")
                if bias_hh_attr is not False:
                    names.append(f"bias_hh_l{layer}{sfx}")
        for name, param in zip(names, self.parameters()):
            setattr(self, name, param)
        self.flatten_parameters()

    def flatten_parameters(self):
        """Order the parameters as the ``rnn`` op's WeightList: all weights, then all biases."""
        params = self.parameters(include_sublayers=False)
        n = self.num_layers * self.num_directions
        self._all_weights = [None] * len(params)
        for i, prm in enumerate(params):
            offset = 0 if i % 4 < 2 else 2 * n
            self._all_weights[offset + (i // 4) * 2 + i % 2] = prm
        # Paddle also creates a zero "flat weight" parameter here (kept out of the state_dict);
        # consume its unique name so later names match Paddle's.
        unique_name.generate(self._full_name + ".w")
        self._dropout_state = Tensor(np.zeros([0], dtype=np.uint8),
                                     name=f"{self._full_name}.dropout_state__non_persistable")

    def forward(self, inputs, initial_states=None, sequence_length=None):
        p = _api()
        if not self.could_use_cudnn:
            raise NotImplementedError(f"{type(self).__name__}: parameters were removed; the network cannot run.")
        if initial_states is None:
            n = _batch_size(inputs, 1 if self.time_major else 0)
            shape = [self.num_layers * self.num_directions, n, self.hidden_size]
            initial_states = [p.full(shape, 0, inputs.dtype) for _ in range(self.state_components)]
        elif not isinstance(initial_states, (list, tuple)):
            initial_states = [initial_states]
        if len(initial_states) != self.state_components:
            raise ValueError(f"{type(self).__name__}: initial_states must be "
                             f"{'a tuple (h, c)' if self.state_components == 2 else 'one tensor'} of shape "
                             f"[num_layers * num_directions, batch, hidden_size]. "
                             f"Received {len(initial_states)} tensors.")
        x = inputs if self.time_major else p.transpose(inputs, [1, 0, 2])
        out, states = _rnn_op(x, initial_states, self._all_weights, sequence_length, self.mode, self.input_size,
                              self.hidden_size, self.num_layers, self.num_directions == 2, self.dropout,
                              self.training)
        out = out if self.time_major else p.transpose(out, [1, 0, 2])
        return out, tuple(states) if len(states) > 1 else states[0]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.time_major is not False:
            s += f", time_major={self.time_major}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        return s


class SimpleRNN(RNNBase):
    """Multi-layer Elman network; ``activation`` 'tanh' (op mode RNN_TANH) or 'relu' (RNN_RELU).

    Example:
        >>> import sampan as paddle
        >>> rnn = paddle.nn.SimpleRNN(16, 32, 2)
        >>> y, h = rnn(paddle.randn((4, 23, 16)), paddle.randn((2, 4, 32)))
        >>> y.shape, h.shape
        ([4, 23, 32], [2, 4, 32])
    """

    def __init__(self, input_size, hidden_size, num_layers=1, direction="forward", time_major=False, dropout=0.0,
                 activation="tanh", weight_ih_attr=None, weight_hh_attr=None, bias_ih_attr=None, bias_hh_attr=None,
                 name=None):
        if activation not in ("tanh", "relu"):
            raise ValueError(f"Unknown activation '{activation}'")
        self.__dict__["activation"] = activation   # read by RNNBase before Layer state exists
        super().__init__("RNN_TANH" if activation == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         direction, time_major, dropout, weight_ih_attr, weight_hh_attr, bias_ih_attr, bias_hh_attr)


class LSTM(RNNBase):
    """Multi-layer LSTM; returns ``(outputs, (h, c))`` with states [num_layers * num_directions, N, H].

    Example:
        >>> import sampan as paddle
        >>> lstm = paddle.nn.LSTM(16, 32, 2, direction='bidirect')
        >>> y, (h, c) = lstm(paddle.randn((4, 23, 16)))
        >>> y.shape, h.shape
        ([4, 23, 64], [4, 4, 32])
    """

    def __init__(self, input_size, hidden_size, num_layers=1, direction="forward", time_major=False, dropout=0.0,
                 weight_ih_attr=None, weight_hh_attr=None, bias_ih_attr=None, bias_hh_attr=None, name=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, direction, time_major, dropout,
                         weight_ih_attr, weight_hh_attr, bias_ih_attr, bias_hh_attr)


class GRU(RNNBase):
    """Multi-layer GRU (reset gate applied after the hidden matmul); returns ``(outputs, h)``.

    Example:
        >>> import sampan as paddle
        >>> gru = paddle.nn.GRU(16, 32, 2)
        >>> y, h = gru(paddle.randn((4, 23, 16)))
        >>> y.shape, h.shape
        ([4, 23, 32], [2, 4, 32])
    """

    def __init__(self, input_size, hidden_size, num_layers=1, direction="forward", time_major=False, dropout=0.0,
                 weight_ih_attr=None, weight_hh_attr=None, bias_ih_attr=None, bias_hh_attr=None, name=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, direction, time_major, dropout,
                         weight_ih_attr, weight_hh_attr, bias_ih_attr, bias_hh_attr)
