"""sampan: a NumPy deep-learning framework with PaddlePaddle's API whose centre is model persistence.

``import sampan as paddle`` runs Paddle 2.1's save/load guide; files are byte-compatible with Paddle.
"""
from .core.dtype import (  # noqa: F401
    DType as dtype, bool_ as bool, int8, int16, int32, int64, uint8, float16, bfloat16, float32, float64,
    complex64, complex128,
)
from .core.tensor import Tensor, Parameter, no_grad, enable_grad, set_grad_enabled, is_grad_enabled  # noqa: F401
from .core.state import set_default_dtype, get_default_dtype, seed  # noqa: F401
from .core.dispatch import in_dynamic_mode, enable_static, disable_static  # noqa: F401
from .core.autograd import grad  # noqa: F401
from .tensor_api.math import *  # noqa: F401,F403
from .tensor_api.creation import *  # noqa: F401,F403
from .tensor_api.manipulation import *  # noqa: F401,F403
from .tensor_api.linalg import *  # noqa: F401,F403
from .tensor_api.search import *  # noqa: F401,F403
from .tensor_api.logic import *  # noqa: F401,F403
from .tensor_api.random import *  # noqa: F401,F403
from .tensor_api.stat import *  # noqa: F401,F403

from . import io  # noqa: F401,E402  (paddle.io: datasets and the DataLoader)

__version__ = "0.1.0"

# --- static graph and jit (lead) ---
from . import static  # noqa: F401,E402
from . import jit  # noqa: F401,E402
from . import utils  # noqa: F401,E402
from .static.executor import CPUPlace, CUDAPlace  # noqa: F401,E402
from .core.tensor import Place  # noqa: F401,E402
from .framework_api import create_parameter, get_device, set_device, is_compiled_with_cuda  # noqa: F401,E402

# --- high-level API: Model, summary, callbacks, metric (hapi) ---
from . import metric  # noqa: F401,E402
from . import callbacks  # noqa: F401,E402
from . import hapi  # noqa: F401,E402
from .hapi import Model, summary  # noqa: F401,E402

# --- save / load (formats) ---
from .framework.io import save, load  # noqa: F401,E402
from .formats.errors import UnsafeFileError  # noqa: F401,E402

# --- nn, optimizer, regularizer (nn/optimizer engineer) ---
from . import nn  # noqa: F401,E402
from . import optimizer  # noqa: F401,E402
from . import regularizer  # noqa: F401,E402
from .nn.param_attr import ParamAttr  # noqa: F401,E402

# --- deployment: paddle.inference (predictor) ---
from . import inference  # noqa: F401,E402
