"""Containers: ``Sequential``, ``LayerList``, ``LayerDict``, ``ParameterList``."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from .layers import Layer

__all__ = ["Sequential", "LayerList", "LayerDict", "ParameterList"]


def _index(idx, n, what):
    if not isinstance(idx, int):
        raise TypeError(f"{what} indices must be integers or slices, not {type(idx).__name__}")
    if not -n <= idx < n:
        raise IndexError(f"{what} index {idx} out of range for length {n}")
    return idx + n if idx < 0 else idx


class Sequential(Layer):
    """Run layers one after another. Sublayers are named ``'0'``, ``'1'`` ... or by the given
    ``(name, layer)`` pairs.

    Example:
        >>> import sampan as paddle
        >>> net = paddle.nn.Sequential(paddle.nn.Linear(4, 3), paddle.nn.ReLU(), paddle.nn.Linear(3, 1))
        >>> list(net.state_dict())
        ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (OrderedDict, dict)):
            layers = tuple(layers[0].items())
        if layers and isinstance(layers[0], (list, tuple)):
            for name, layer in layers:
                self.add_sublayer(name, layer)
        else:
            for i, layer in enumerate(layers):
                self.add_sublayer(str(i), layer)

    def __getitem__(self, name):
        if isinstance(name, slice):
            return type(self)(*list(self._sub_layers.values())[name])
        if isinstance(name, str):
            return self._sub_layers[name]
        return list(self._sub_layers.values())[_index(name, len(self._sub_layers), "Sequential")]

    def __setitem__(self, name, layer):
        setattr(self, str(name), layer)

    def __delitem__(self, name):
        name = str(name)
        if name not in self._sub_layers:
            raise KeyError(f"Sequential has no sublayer {name!r}")
        delattr(self, name)

    def __len__(self):
        return len(self._sub_layers)

    def __iter__(self):
        return iter(self._sub_layers.values())

    def append(self, layer):
        self.add_sublayer(str(len(self._sub_layers)), layer)
        return self

    def forward(self, input):
        for layer in self._sub_layers.values():
            input = layer(input)
        return input


class LayerList(Layer):
    """A list of sublayers (registered, so their parameters are found).

    Example:
        >>> import sampan as paddle
        >>> ll = paddle.nn.LayerList([paddle.nn.Linear(2, 2) for _ in range(3)])
        >>> len(ll.parameters())
        6
    """

    def __init__(self, sublayers=None):
        super().__init__()
        if sublayers is not None:
            for i, layer in enumerate(sublayers):
                self.add_sublayer(str(i), layer)

    def _abs(self, idx):
        return _index(idx, len(self._sub_layers), "LayerList")

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._sub_layers.values())[idx])
        return self._sub_layers[str(self._abs(idx))]

    def __setitem__(self, idx, sublayer):
        setattr(self, str(self._abs(idx)), sublayer)

    def __delitem__(self, idx):
        n = len(self._sub_layers)
        keep = list(self._sub_layers.values())
        if isinstance(idx, slice):
            drop = set(range(n)[idx])
        else:
            drop = {self._abs(idx)}
        for k in list(self._sub_layers):
            delattr(self, k)
        for i, layer in enumerate(v for j, v in enumerate(keep) if j not in drop):
            self.add_sublayer(str(i), layer)

    def __len__(self):
        return len(self._sub_layers)

    def __iter__(self):
        return iter(self._sub_layers.values())

    def append(self, sublayer):
        self.add_sublayer(str(len(self)), sublayer)
        return self

    def insert(self, index, sublayer):
        n = len(self._sub_layers)
        if not -n <= index <= n:
            raise IndexError(f"LayerList.insert: index {index} out of range for length {n}")
        if index < 0:
            index += n
        layers = list(self._sub_layers.values())
        layers.insert(index, sublayer)
        for k in list(self._sub_layers):
            delattr(self, k)
        for i, layer in enumerate(layers):
            self.add_sublayer(str(i), layer)

    def extend(self, sublayers):
        offset = len(self)
        for i, layer in enumerate(sublayers):
            self.add_sublayer(str(offset + i), layer)
        return self


class LayerDict(Layer):
    """An ordered dict of sublayers.

    Example:
        >>> import sampan as paddle
        >>> ld = paddle.nn.LayerDict({'conv': paddle.nn.Conv2D(3, 2, 3), 'relu': paddle.nn.ReLU()})
        >>> list(ld.keys())
        ['conv', 'relu']
    """

    def __init__(self, sublayers=None):
        super().__init__()
        if sublayers is not None:
            self.update(sublayers)

    def __getitem__(self, key):
        return self._sub_layers[key]

    def __setitem__(self, key, sublayer):
        self.add_sublayer(key, sublayer)

    def __delitem__(self, key):
        delattr(self, key)

    def __len__(self):
        return len(self._sub_layers)

    def __iter__(self):
        return iter(self._sub_layers)

    def __contains__(self, key):
        return key in self._sub_layers

    def clear(self):
        for k in list(self._sub_layers):
            delattr(self, k)

    def pop(self, key):
        v = self._sub_layers[key]
        delattr(self, key)
        return v

    def keys(self):
        return self._sub_layers.keys()

    def items(self):
        return self._sub_layers.items()

    def values(self):
        return self._sub_layers.values()

    def update(self, sublayers):
        if not isinstance(sublayers, Iterable):
            raise TypeError(f"LayerDict.update: expected a mapping or iterable of (key, layer) pairs, "
                            f"received {type(sublayers).__name__}")
        if isinstance(sublayers, Mapping):
            items = sublayers.items()
        else:
            items = []
            for i, kv in enumerate(sublayers):
                if not isinstance(kv, (list, tuple)) or len(kv) != 2:
                    raise ValueError(f"LayerDict.update: element #{i} should be a (key, layer) pair")
                items.append(kv)
        for k, v in items:
            self.add_sublayer(k, v)


class ParameterList(Layer):
    """A list of parameters (registered as ``'0'``, ``'1'`` ...).

    Example:
        >>> import sampan as paddle
        >>> lin = paddle.nn.Linear(2, 2)
        >>> pl = paddle.nn.ParameterList([lin.weight, lin.bias])
        >>> len(pl)
        2
    """

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            for i, p in enumerate(parameters):
                self.add_parameter(str(i), p)

    def __getitem__(self, idx):
        n = len(self._parameters)
        if isinstance(idx, slice):
            return list(self._parameters.values())[idx]
        return self._parameters[str(_index(idx, n, "ParameterList"))]

    def __setitem__(self, idx, param):
        setattr(self, str(_index(idx, len(self._parameters), "ParameterList")), param)

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def append(self, parameter):
        self.add_parameter(str(len(self._parameters)), parameter)
        return self
