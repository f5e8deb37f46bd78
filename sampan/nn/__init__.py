"""``paddle.nn``: ``Layer``, layers, losses, containers, ``functional``, ``initializer``, gradient clipping.

Example:
    >>> import sampan as paddle
    >>> net = paddle.nn.Sequential(paddle.nn.Linear(4, 8), paddle.nn.ReLU(), paddle.nn.Linear(8, 2))
    >>> [p.name for p in net.parameters()][:2]
    ['linear_0.w_0', 'linear_0.b_0']
"""
from . import functional  # noqa: F401
from . import initializer  # noqa: F401
from .param_attr import ParamAttr  # noqa: F401
from .clip import ClipGradByValue, ClipGradByNorm, ClipGradByGlobalNorm  # noqa: F401
from .layer import *  # noqa: F401,F403
from .layer import Layer  # noqa: F401
from .layer.rnn import *  # noqa: F401,F403  (recurrent layers, sampan/nn/layer/rnn.py)
from .layer import layers, common, conv, norm, pooling, activation, container, loss, transformer  # noqa: F401
from . import utils  # noqa: F401

# Paddle 1.x spellings still found in user code
GradientClipByValue = ClipGradByValue
GradientClipByNorm = ClipGradByNorm
GradientClipByGlobalNorm = ClipGradByGlobalNorm
