"""``paddle.load(prefix)`` of a jit.save / save_inference_model prefix."""
from __future__ import annotations

import os

import numpy as np

__all__ = ["load_prefix_state_dict"]


def load_prefix_state_dict(prefix, **configs):
    """``{saved parameter name: ndarray}`` (``linear_0.w_0`` ...) of the model at ``prefix``.

    These are the names ``Layer.set_state_dict(sd, use_structured_name=False)`` matches, so the
    guide's example restores a fresh Layer exactly. With ``structured_name=True`` the keys are the
    structured names recorded in ``prefix.pdiparams.info`` (``_linear.weight`` ...) instead.
    With ``return_numpy=False`` the values are Tensors named after the saved variables.
    """
    from ..formats.model_files import read_inference_model
    from ..formats.tensor_stream import read_pdiparams_info
    _, params = read_inference_model(prefix, configs.get("model_filename"), configs.get("params_filename"),
                                     who="paddle.load")
    out = {n: np.asarray(a) for n, a in params.items()}
    if configs.get("structured_name"):
        info_path = prefix + ".pdiparams.info"
        if not os.path.isfile(info_path):
            raise FileNotFoundError(f"paddle.load(structured_name=True): {info_path!r} does not exist, so the "
                                    "structured names are unknown (Paddle 3.x PIR and save_inference_model do not "
                                    "write it).")
        info = read_pdiparams_info(info_path)
        out = {info.get(n, {}).get("structured_name", n): a for n, a in out.items()}
    if configs.get("return_numpy", True) is False:
        from ..core.tensor import Tensor
        out = {k: Tensor(a, name=k) for k, a in out.items()}
    return out
