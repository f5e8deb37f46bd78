"""``paddle.inference``: the deployment API (Config, create_predictor, Predictor, Tensor handles).

Runs ``.pdmodel`` (Paddle 2.x/3.x legacy IR) and ``.json`` (Paddle 3 PIR) inference models with
their ``.pdiparams`` on the CPU, through the registry kernels the Executor uses, with a plan
compiled once per predictor (``plan.py``) and Paddle-style inference passes (``fuse.py``).

Example:
    >>> import sampan.inference as paddle_infer
    >>> config = paddle_infer.Config("out/model.pdmodel", "out/model.pdiparams")
    >>> predictor = paddle_infer.create_predictor(config)
    >>> name = predictor.get_input_names()[0]
    >>> predictor.get_input_handle(name).copy_from_cpu(x)
    >>> predictor.run()
    >>> y = predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
"""
from .config import Config, PrecisionType, PlaceType  # noqa: F401
from .predictor import create_predictor, Predictor, Tensor, DataType, get_version  # noqa: F401

__all__ = ["Config", "create_predictor", "Predictor", "Tensor", "DataType", "PrecisionType", "PlaceType",
           "get_version"]
