"""Loss layers: thin wrappers over the ``nn.functional`` losses with Paddle's constructor arguments."""
from __future__ import annotations

from .. import functional as F
from .layers import Layer, functional

__all__ = ["CrossEntropyLoss", "MSELoss", "L1Loss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "SmoothL1Loss",
           "KLDivLoss", "HuberLoss", "MarginRankingLoss", "CTCLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss",
           "SoftMarginLoss", "MultiLabelSoftMarginLoss", "TripletMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss"]

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(layer, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{layer}: reduction must be 'mean', 'sum' or 'none'. Received: {reduction!r}.")
    return reduction


class CrossEntropyLoss(Layer):
    """Softmax cross entropy (hard int64 labels or ``soft_label=True`` distributions).

    Example:
        >>> import sampan as paddle
        >>> loss = paddle.nn.CrossEntropyLoss()
        >>> out = loss(paddle.to_tensor([[2.0, 0.5]]), paddle.to_tensor([[0]]))
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", soft_label=False, axis=-1,
                 use_softmax=True, label_smoothing=0.0, name=None):
        super().__init__()
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = _check_reduction("CrossEntropyLoss", reduction)
        self.soft_label, self.axis, self.use_softmax = soft_label, axis, use_softmax
        self.label_smoothing = label_smoothing
        self.name = name

    def forward(self, input, label):
        return F.cross_entropy(input, label, self.weight, self.ignore_index, self.reduction, self.soft_label,
                               self.axis, self.use_softmax, self.label_smoothing)


class MSELoss(Layer):
    """``(input - label) ** 2`` reduced by ``reduction``."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = _check_reduction("MSELoss", reduction)

    def forward(self, input, label):
        return F.mse_loss(input, label, reduction=self.reduction)


class L1Loss(Layer):
    """``|input - label|`` reduced by ``reduction``."""

    def __init__(self, reduction="mean", name=None):
        super().__init__()
        self.reduction = _check_reduction("L1Loss", reduction)

    def forward(self, input, label):
        return functional("l1_loss")(input, label, reduction=self.reduction)


class NLLLoss(Layer):
    """Negative log-likelihood on log-probabilities."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", name=None):
        super().__init__()
        self._weight = weight
        self._ignore_index = ignore_index
        self._reduction = _check_reduction("NLLLoss", reduction)

    def forward(self, input, label):
        return functional("nll_loss")(input, label, weight=self._weight, ignore_index=self._ignore_index,
                          reduction=self._reduction)


class BCELoss(Layer):
    """Binary cross entropy on probabilities."""

    def __init__(self, weight=None, reduction="mean", name=None):
        super().__init__()
        self.weight = weight
        self.reduction = _check_reduction("BCELoss", reduction)

    def forward(self, input, label):
        return functional("binary_cross_entropy")(input, label, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(Layer):
    """Binary cross entropy on logits (``pos_weight`` weights the positive term)."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None, name=None):
        super().__init__()
        self.weight = weight
        self.reduction = _check_reduction("BCEWithLogitsLoss", reduction)
        self.pos_weight = pos_weight

    def forward(self, logit, label):
        fn = functional("binary_cross_entropy_with_logits")
        return fn(logit, label, weight=self.weight, reduction=self.reduction, pos_weight=self.pos_weight)


class SmoothL1Loss(Layer):
    """Huber-style loss: quadratic below ``delta``, linear above."""

    def __init__(self, reduction="mean", delta=1.0, name=None):
        super().__init__()
        self.reduction = _check_reduction("SmoothL1Loss", reduction)
        self.delta = delta

    def forward(self, input, label):
        return functional("smooth_l1_loss")(input, label, reduction=self.reduction, delta=self.delta)


class KLDivLoss(Layer):
    """``label * (log(label) - input)`` (``input`` is log-probabilities); ``reduction`` also takes ``'batchmean'``."""

    def __init__(self, reduction="mean", log_target=False):
        super().__init__()
        if reduction not in _REDUCTIONS + ("batchmean",):
            raise ValueError(f"KLDivLoss: reduction must be 'mean', 'sum', 'batchmean' or 'none'. "
                             f"Received: {reduction!r}.")
        self.reduction = reduction
        self.log_target = log_target

    def forward(self, input, label):
        kw = {"log_target": True} if self.log_target else {}
        return functional("kl_div")(input, label, self.reduction, **kw)


class HuberLoss(Layer):
    def __init__(self, reduction="mean", delta=1.0):
        super().__init__()
        self.reduction, self.delta = _check_reduction("HuberLoss", reduction), delta

    def forward(self, input, label):
        return functional("huber_loss")(input, label, reduction=self.reduction, delta=self.delta)


class MarginRankingLoss(Layer):
    def __init__(self, margin=0.0, reduction="mean", name=None):
        super().__init__()
        self.margin, self.reduction = margin, _check_reduction("MarginRankingLoss", reduction)

    def forward(self, input, other, label):
        return functional("margin_ranking_loss")(input, other, label, self.margin, self.reduction)


class CTCLoss(Layer):
    def __init__(self, blank=0, reduction="mean"):
        super().__init__()
        self.blank, self.reduction = blank, reduction

    def forward(self, log_probs, labels, input_lengths, label_lengths, norm_by_times=False):
        return functional("ctc_loss")(log_probs, labels, input_lengths, label_lengths, self.blank, self.reduction,
                                      norm_by_times)


class HingeEmbeddingLoss(Layer):
    def __init__(self, margin=1.0, reduction="mean", name=None):
        super().__init__()
        self.margin, self.reduction = margin, _check_reduction("HingeEmbeddingLoss", reduction)

    def forward(self, input, label):
        return functional("hinge_embedding_loss")(input, label, reduction=self.reduction, margin=self.margin)


class CosineEmbeddingLoss(Layer):
    def __init__(self, margin=0, reduction="mean", name=None):
        super().__init__()
        self.margin, self.reduction = margin, _check_reduction("CosineEmbeddingLoss", reduction)

    def forward(self, input1, input2, label):
        return functional("cosine_embedding_loss")(input1, input2, label, margin=self.margin, reduction=self.reduction)


class SoftMarginLoss(Layer):
    def __init__(self, reduction="mean", name=None):
        super().__init__()
        self.reduction = _check_reduction("SoftMarginLoss", reduction)

    def forward(self, input, label):
        return functional("soft_margin_loss")(input, label, self.reduction)


class MultiLabelSoftMarginLoss(Layer):
    def __init__(self, weight=None, reduction="mean", name=None):
        super().__init__()
        self.weight, self.reduction = weight, _check_reduction("MultiLabelSoftMarginLoss", reduction)

    def forward(self, input, label):
        return functional("multi_label_soft_margin_loss")(input, label, weight=self.weight, reduction=self.reduction)


class TripletMarginLoss(Layer):
    def __init__(self, margin=1.0, p=2.0, epsilon=1e-6, swap=False, reduction="mean", name=None):
        super().__init__()
        self.margin, self.p, self.epsilon, self.swap = margin, p, epsilon, swap
        self.reduction = _check_reduction("TripletMarginLoss", reduction)

    def forward(self, input, positive, negative):
        return functional("triplet_margin_loss")(input, positive, negative, margin=self.margin, p=self.p,
                                                 epsilon=self.epsilon, swap=self.swap, reduction=self.reduction)


class PoissonNLLLoss(Layer):
    def __init__(self, log_input=True, full=False, epsilon=1e-8, reduction="mean", name=None):
        super().__init__()
        self.log_input, self.full, self.epsilon = log_input, full, epsilon
        self.reduction = _check_reduction("PoissonNLLLoss", reduction)

    def forward(self, input, label):
        return functional("poisson_nll_loss")(input, label, log_input=self.log_input, full=self.full,
                                              epsilon=self.epsilon, reduction=self.reduction)


class GaussianNLLLoss(Layer):
    def __init__(self, full=False, epsilon=1e-6, reduction="mean", name=None):
        super().__init__()
        self.full, self.epsilon = full, epsilon
        self.reduction = _check_reduction("GaussianNLLLoss", reduction)

    def forward(self, input, label, variance):
        return functional("gaussian_nll_loss")(input, label, variance, self.full, self.epsilon, self.reduction)
