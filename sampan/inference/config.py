"""``paddle.inference.Config``: where the model is and how to run it.

sampan runs on the CPU with NumPy: the switches that tune Paddle's engines (oneDNN, TensorRT,
memory pools, thread counts) are accepted and recorded so deployment scripts run unchanged,
``summary()`` shows them, and the ones that would need a GPU raise a clear error.
``switch_ir_optim`` is real: it turns sampan's constant folding and conv/bn/bias/relu fusion on
or off (``sampan.inference.fuse``).
"""
from __future__ import annotations

import enum
import os

__all__ = ["Config", "PrecisionType", "PlaceType"]


class PrecisionType(enum.Enum):
    """``paddle.inference.PrecisionType``."""
    Float32 = 0
    Int8 = 1
    Half = 2
    Bfloat16 = 3


class PlaceType(enum.Enum):
    """``paddle.inference.PlaceType``."""
    UNK = -1
    CPU = 0
    GPU = 1
    XPU = 2
    IPU = 4
    CUSTOM = 5


def _cpu_only(what):
    raise RuntimeError(f"paddle.inference.Config.{what}: sampan runs on the CPU only (NumPy); there is no GPU, "
                       "XPU, IPU or TensorRT backend. Remove this call, or call config.disable_gpu().")


class Config:
    """Configuration of a predictor (``paddle.inference.Config``).

    Forms accepted, as in Paddle 2.x/3.x:

    * ``Config("model.pdmodel", "model.pdiparams")`` (or ``model.json`` for a Paddle 3 PIR program);
    * ``Config("model_dir")``: a directory holding ``__model__`` (or ``__model__.json``) and one file
      per parameter, or exactly one ``<name>.pdmodel``/``<name>.json`` with its ``<name>.pdiparams``;
    * ``Config("model_dir", "inference")``: directory + file prefix (Paddle 3);
    * ``Config()`` followed by ``set_model(...)`` or ``set_model_buffer(...)``.

    sampan also accepts a path prefix (``Config("out/model")`` for ``out/model.pdmodel``).

    Example:
        >>> config = paddle.inference.Config("out/model.pdmodel", "out/model.pdiparams")
        >>> config.disable_gpu()
        >>> predictor = paddle.inference.create_predictor(config)
    """

    def __init__(self, model_path=None, params_path=None):
        self._model_dir = None
        self._prog_file = None
        self._params_file = None
        self._prog_buffer = None
        self._params_buffer = None
        self._ir_optim = True
        self._opts = {"use_gpu": False, "mkldnn": False, "cpu_math_library_num_threads": 1,
                      "glog_info_disabled": False, "memory_optim": False, "use_feed_fetch_ops": False,
                      "specify_input_names": True, "profile": False}
        self._deleted_passes = []
        if model_path is not None:
            self.set_model(model_path, params_path)
        elif params_path is not None:
            raise ValueError("paddle.inference.Config: params_path was given without model_path.")

    # ------------------------------------------------------------------ the model
    def set_model(self, model_path, params_path=None):
        """``set_model(model_dir)`` or ``set_model(prog_file, params_file)`` (or dir + prefix)."""
        model_path = os.fspath(model_path)
        self._prog_buffer = self._params_buffer = None
        self._model_dir = self._prog_file = self._params_file = None
        if params_path is None:
            if os.path.isdir(model_path):
                self._model_dir = model_path
            else:
                self._prog_file = model_path
            return
        params_path = os.fspath(params_path)
        if os.path.isdir(model_path):
            if os.path.isfile(params_path):          # legacy: __model__ in a dir + one combined params file
                self._model_dir, self._params_file = model_path, params_path
                return
            prefix = os.path.join(model_path, params_path)      # Paddle 3: (model_dir, model_prefix)
            self._prog_file = _program_file_of(prefix) or prefix + ".pdmodel"
            self._params_file = prefix + ".pdiparams"
            return
        self._prog_file, self._params_file = model_path, params_path

    def set_prog_file(self, path):
        self._prog_file = os.fspath(path)
        self._model_dir = None

    def set_params_file(self, path):
        self._params_file = os.fspath(path)

    def set_model_buffer(self, prog_buffer, prog_buffer_size, params_buffer, params_buffer_size):
        """The model from memory: the program file's bytes and the parameters file's bytes."""
        prog = _as_bytes(prog_buffer, "prog_buffer")
        params = _as_bytes(params_buffer, "params_buffer")
        if prog_buffer_size is not None and int(prog_buffer_size) != len(prog):
            raise ValueError(f"paddle.inference.Config.set_model_buffer: prog_buffer_size={prog_buffer_size} but "
                             f"the buffer holds {len(prog)} bytes.")
        if params_buffer_size is not None and int(params_buffer_size) != len(params):
            raise ValueError(f"paddle.inference.Config.set_model_buffer: params_buffer_size={params_buffer_size} "
                             f"but the buffer holds {len(params)} bytes.")
        self._prog_buffer, self._params_buffer = prog, params
        self._model_dir = self._prog_file = self._params_file = None

    def model_from_memory(self):
        return self._prog_buffer is not None

    def model_dir(self):
        return self._model_dir or ""

    def prog_file(self):
        return self._prog_file or ""

    def params_file(self):
        return self._params_file or ""

    def is_valid(self):
        return bool(self._model_dir or self._prog_file or self._prog_buffer is not None)

    # ------------------------------------------------------------------ devices
    def disable_gpu(self):
        self._opts["use_gpu"] = False

    def use_gpu(self):
        return False

    def enable_use_gpu(self, memory_pool_init_size_mb=100, device_id=0, precision_mode=None):
        _cpu_only("enable_use_gpu")

    def gpu_device_id(self):
        return -1

    def enable_xpu(self, *args, **kwargs):
        _cpu_only("enable_xpu")

    def enable_ipu(self, *args, **kwargs):
        _cpu_only("enable_ipu")

    def enable_custom_device(self, *args, **kwargs):
        _cpu_only("enable_custom_device")

    def enable_tensorrt_engine(self, *args, **kwargs):
        _cpu_only("enable_tensorrt_engine")

    def tensorrt_engine_enabled(self):
        return False

    def use_xpu(self):
        return False

    # ------------------------------------------------------------------ optimisation switches
    def switch_ir_optim(self, x=True):
        """Constant folding and conv/batch_norm/bias/relu and matmul/bias/relu fusion (default on)."""
        self._ir_optim = bool(x)

    def ir_optim(self):
        return self._ir_optim

    def delete_pass(self, name):
        self._deleted_passes.append(str(name))

    def enable_mkldnn(self):
        self._opts["mkldnn"] = True          # recorded: NumPy's BLAS does the work either way

    def disable_mkldnn(self):
        self._opts["mkldnn"] = False

    def mkldnn_enabled(self):
        return self._opts["mkldnn"]

    def set_mkldnn_cache_capacity(self, capacity=0):
        self._opts["mkldnn_cache_capacity"] = int(capacity)

    def enable_mkldnn_bfloat16(self):
        self._opts["mkldnn_bfloat16"] = True

    def set_cpu_math_library_num_threads(self, n):
        """Recorded only: sampan does not change the BLAS thread count of the process (set
        ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` before starting Python to do that)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError("paddle.inference.Config.set_cpu_math_library_num_threads: expected a positive int. "
                             f"Received: {n!r}.")
        self._opts["cpu_math_library_num_threads"] = n

    def cpu_math_library_num_threads(self):
        return self._opts["cpu_math_library_num_threads"]

    def enable_memory_optim(self, x=True):
        self._opts["memory_optim"] = bool(x)   # sampan always frees a temporary after its last reader

    def enable_memory_optim_enabled(self):
        return self._opts["memory_optim"]

    def switch_use_feed_fetch_ops(self, x=True):
        self._opts["use_feed_fetch_ops"] = bool(x)

    def use_feed_fetch_ops_enabled(self):
        return self._opts["use_feed_fetch_ops"]

    def switch_specify_input_names(self, x=True):
        self._opts["specify_input_names"] = bool(x)

    def specify_input_name(self):
        return self._opts["specify_input_names"]

    def enable_profile(self):
        self._opts["profile"] = True

    def profile_enabled(self):
        return self._opts["profile"]

    def disable_glog_info(self):
        self._opts["glog_info_disabled"] = True

    def glog_info_disabled(self):
        return self._opts["glog_info_disabled"]

    def enable_new_executor(self, x=True):
        self._opts["new_executor"] = bool(x)

    def enable_new_ir(self, x=True):
        self._opts["new_ir"] = bool(x)

    def set_optim_cache_dir(self, path):
        self._opts["optim_cache_dir"] = os.fspath(path)

    def summary(self):
        rows = [("model_dir", self.model_dir()), ("prog_file", self.prog_file()),
                ("params_file", self.params_file()), ("model_from_memory", self.model_from_memory()),
                ("ir_optim", self._ir_optim), ("deleted_passes", self._deleted_passes)]
        rows += sorted(self._opts.items())
        w = max(len(k) for k, _ in rows)
        return "\n".join(f"{k.ljust(w)} : {v}" for k, v in rows)

    def __repr__(self):
        where = self._prog_file or self._model_dir or ("<memory>" if self._prog_buffer is not None else None)
        return f"Config(model={where!r}, params={self._params_file!r}, ir_optim={self._ir_optim})"


def _program_file_of(prefix):
    for ext in (".pdmodel", ".json"):
        if os.path.isfile(prefix + ext):
            return prefix + ext
    return None


def _as_bytes(buf, what):
    if isinstance(buf, str):
        return buf.encode("latin-1")     # Paddle's Python API passes file contents read as str too
    if isinstance(buf, (bytes, bytearray, memoryview)):
        return bytes(buf)
    raise TypeError(f"paddle.inference.Config.set_model_buffer: {what} must be bytes. "
                    f"Received: {type(buf).__name__}.")
