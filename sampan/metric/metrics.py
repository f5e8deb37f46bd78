"""Evaluation metrics (``paddle.metric``): Metric, Accuracy, Precision, Recall, Auc, ``accuracy``.

A metric is a small accumulator: ``compute`` (optional) turns network outputs and labels into
what ``update`` consumes; ``update`` adds one batch and returns that batch's value; ``accumulate``
returns the value over every batch since ``reset``. Metrics run on NumPy arrays: they need no
gradient and must not change the autograd tape or the random state.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Metric", "Accuracy", "Precision", "Recall", "Auc", "accuracy"]


def _to_numpy(x, what, who):
    if hasattr(x, "numpy") and callable(x.numpy):
        return np.asarray(x.numpy())
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple, int, float, np.generic)):
        return np.asarray(x)
    raise ValueError(f"{who}: '{what}' must be a numpy.ndarray or a Tensor. Received: {type(x).__name__}.")


class Metric:
    """Base class of metrics: implement ``reset``, ``update``, ``accumulate`` and ``name``.

    ``compute(*outputs_and_labels)`` runs first on each batch (inside ``Model``) and may do
    per-batch preprocessing; by default it passes its arguments through.

    Example:
        >>> import numpy as np
        >>> import sampan as paddle
        >>> class MeanValue(paddle.metric.Metric):
        ...     def __init__(self):
        ...         self.reset()
        ...     def reset(self):
        ...         self.total, self.count = 0.0, 0
        ...     def update(self, x):
        ...         self.total += float(np.sum(x)); self.count += int(np.size(x))
        ...     def accumulate(self):
        ...         return self.total / max(self.count, 1)
        ...     def name(self):
        ...         return "mean_value"
        >>> m = MeanValue(); m.update(np.array([1.0, 3.0])); m.accumulate()
        2.0
    """

    def reset(self):
        raise NotImplementedError(f"{type(self).__name__}.reset is not implemented.")

    def update(self, *args):
        raise NotImplementedError(f"{type(self).__name__}.update is not implemented.")

    def accumulate(self):
        raise NotImplementedError(f"{type(self).__name__}.accumulate is not implemented.")

    def name(self):
        raise NotImplementedError(f"{type(self).__name__}.name is not implemented.")

    def compute(self, *args):
        return args


def _topk_correct(pred, label, maxk, who):
    """float32 [..., maxk]: 1 where the j-th highest score is the label's class."""
    if pred.ndim < 1 or pred.shape[-1] < maxk:
        raise ValueError(f"{who}: the prediction has {pred.shape[-1] if pred.ndim else 0} classes, fewer than "
                         f"topk={maxk}. Received pred shape {list(pred.shape)}.")
    top = np.argsort(-pred, axis=-1, kind="stable")[..., :maxk]
    if label.ndim == pred.ndim and label.shape[-1] != 1:          # one-hot or soft labels
        label = np.argmax(label, axis=-1)[..., None]
    elif label.ndim == pred.ndim - 1:
        label = label[..., None]
    if label.shape[:-1] != pred.shape[:-1]:
        raise ValueError(f"{who}: label shape {list(label.shape)} does not match prediction shape "
                         f"{list(pred.shape)} (expected [N, 1], [N] or one-hot [N, C]).")
    return (top == label.astype(np.int64)).astype(np.float32)


class Accuracy(Metric):
    """Top-k classification accuracy.

    Args:
        topk (int | tuple[int]): the k values; one accuracy per k. Default (1,).
        name (str, optional): base name; ``'acc'`` by default, ``'acc_top{k}'`` per k when max(topk) > 1.

    Example:
        >>> import numpy as np
        >>> import sampan as paddle
        >>> m = paddle.metric.Accuracy()
        >>> pred = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], 'float32')
        >>> m.update(m.compute(pred, np.array([[1], [1], [1]])))
        0.6666666666666666
        >>> m.accumulate(), m.name()
        (0.6666666666666666, ['acc'])
    """

    def __init__(self, topk=(1,), name=None, *args, **kwargs):
        self.topk = (topk,) if isinstance(topk, int) else tuple(topk)
        if not self.topk or any(not isinstance(k, (int, np.integer)) or k < 1 for k in self.topk):
            raise ValueError(f"Accuracy: topk must be a positive int or a tuple of them. Received: topk={topk!r}.")
        self.maxk = max(self.topk)
        base = name or "acc"
        self._name = [f"{base}_top{k}" for k in self.topk] if self.maxk != 1 else [base]
        self.reset()

    def compute(self, pred, label, *args):
        """Correctness of the top-``maxk`` predictions per sample: float32 ``[N, maxk]``."""
        pred = _to_numpy(pred, "pred", "Accuracy.compute")
        label = _to_numpy(label, "label", "Accuracy.compute")
        return _topk_correct(pred, label, self.maxk, "Accuracy.compute")

    def update(self, correct, *args):
        """Add a batch (the output of ``compute``); returns the batch accuracy (a list for several k)."""
        correct = _to_numpy(correct, "correct", "Accuracy.update")
        num_samples = int(np.prod(correct.shape[:-1]))
        accs = []
        for i, k in enumerate(self.topk):
            num_corrects = float(correct[..., :k].sum())
            accs.append(num_corrects / num_samples if num_samples else 0.0)
            self.total[i] += num_corrects
            self.count[i] += num_samples
        return accs[0] if len(self.topk) == 1 else accs

    def reset(self):
        self.total = [0.0] * len(self.topk)
        self.count = [0] * len(self.topk)

    def accumulate(self):
        res = [float(t) / c if c > 0 else 0.0 for t, c in zip(self.total, self.count)]
        return res[0] if len(self.topk) == 1 else res

    def name(self):
        return self._name


class _BinaryCounts(Metric):
    """Shared update of Precision and Recall: predictions >= 0.5 count as positive."""

    _default_name = ""

    def __init__(self, name=None, *args, **kwargs):
        self._name = name or self._default_name
        self.reset()

    def update(self, preds, labels):
        who = f"{type(self).__name__}.update"
        preds = _to_numpy(preds, "preds", who).reshape(-1)
        labels = _to_numpy(labels, "labels", who).reshape(-1)
        if preds.shape != labels.shape:
            raise ValueError(f"{who}: preds ({preds.size} values) and labels ({labels.size} values) differ in size.")
        pos = np.floor(preds + 0.5).astype(np.int32) == 1
        truth = labels.astype(np.int32) == 1
        self.tp += int(np.sum(pos & truth))
        self.fp += int(np.sum(pos & ~truth))
        self.fn += int(np.sum(~pos & truth))

    def reset(self):
        self.tp = self.fp = self.fn = 0

    def name(self):
        return self._name


class Precision(_BinaryCounts):
    """Binary precision ``tp / (tp + fp)``; a prediction >= 0.5 is positive.

    Example:
        >>> import numpy as np
        >>> import sampan as paddle
        >>> m = paddle.metric.Precision()
        >>> m.update(np.array([0.9, 0.6, 0.2, 0.7]), np.array([1, 0, 1, 1]))
        >>> m.accumulate()
        0.6666666666666666
    """

    _default_name = "precision"

    def accumulate(self):
        ap = self.tp + self.fp
        return float(self.tp) / ap if ap != 0 else 0.0


class Recall(_BinaryCounts):
    """Binary recall ``tp / (tp + fn)``; a prediction >= 0.5 is positive.

    Example:
        >>> import numpy as np
        >>> import sampan as paddle
        >>> m = paddle.metric.Recall()
        >>> m.update(np.array([0.9, 0.6, 0.2, 0.7]), np.array([1, 0, 1, 1]))
        >>> m.accumulate()
        0.6666666666666666
    """

    _default_name = "recall"

    def accumulate(self):
        recall = self.tp + self.fn
        return float(self.tp) / recall if recall != 0 else 0.0


class Auc(Metric):
    """Area under the ROC curve, from ``num_thresholds + 1`` score bins (Paddle's histogram method).

    ``update(preds, labels)`` takes ``preds`` of shape ``[N, 2]`` (the probability of class 1 in column 1)
    or ``[N]``/``[N, 1]`` (the probability of class 1), and ``labels`` of shape ``[N]`` or ``[N, 1]``.

    Example:
        >>> import numpy as np
        >>> import sampan as paddle
        >>> m = paddle.metric.Auc()
        >>> m.update(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
        >>> round(m.accumulate(), 6)
        0.75
    """

    def __init__(self, curve="ROC", num_thresholds=4095, name="auc", *args, **kwargs):
        if curve != "ROC":
            raise ValueError(f"Auc: only curve='ROC' is supported. Received: curve={curve!r}.")
        if not isinstance(num_thresholds, int) or num_thresholds < 1:
            raise ValueError(f"Auc: num_thresholds must be a positive int. Received: {num_thresholds!r}.")
        self._curve, self._num_thresholds, self._name = curve, num_thresholds, name
        self.reset()

    def update(self, preds, labels):
        preds = _to_numpy(preds, "preds", "Auc.update")
        labels = _to_numpy(labels, "labels", "Auc.update").reshape(-1)
        score = preds[:, 1] if preds.ndim == 2 and preds.shape[1] == 2 else preds.reshape(-1)
        if score.shape[0] != labels.shape[0]:
            raise ValueError(f"Auc.update: {score.shape[0]} predictions but {labels.shape[0]} labels.")
        if score.size and (score.min() < 0 or score.max() > 1):
            raise ValueError("Auc.update: predictions must be probabilities in [0, 1]. Received values in "
                             f"[{float(score.min())}, {float(score.max())}].")
        bins = (score.astype(np.float64) * self._num_thresholds).astype(np.int64)
        pos = labels.astype(bool)
        np.add.at(self._stat_pos, bins[pos], 1.0)
        np.add.at(self._stat_neg, bins[~pos], 1.0)

    def accumulate(self):
        # Walk the bins from the highest score down: every bin adds a trapezoid under the ROC curve.
        pos = np.cumsum(self._stat_pos[::-1])
        neg = np.cumsum(self._stat_neg[::-1])
        tot_pos, tot_neg = float(pos[-1]), float(neg[-1])
        if tot_pos <= 0.0 or tot_neg <= 0.0:
            return 0.0
        pos_prev = np.concatenate([[0.0], pos[:-1]])
        neg_prev = np.concatenate([[0.0], neg[:-1]])
        area = float(np.sum(np.abs(neg - neg_prev) * (pos + pos_prev) / 2.0))
        return area / tot_pos / tot_neg

    def reset(self):
        self._stat_pos = np.zeros(self._num_thresholds + 1, dtype=np.float64)
        self._stat_neg = np.zeros(self._num_thresholds + 1, dtype=np.float64)

    def name(self):
        return self._name


def accuracy(input, label, k=1, correct=None, total=None, name=None):
    """Top-k accuracy of one batch as a float32 Tensor of shape [] (``paddle.metric.accuracy``).

    Args:
        input (Tensor): scores ``[N, C]``.
        label (Tensor): class ids ``[N, 1]`` or ``[N]``.
        k (int): count a sample correct when its label is among the k highest scores.
        correct, total (Tensor, optional): int Tensors that receive the counts.

    Example:
        >>> import numpy as np
        >>> import sampan as paddle
        >>> x = paddle.to_tensor(np.array([[0.2, 0.8], [0.6, 0.4]], 'float32'))
        >>> float(paddle.metric.accuracy(x, paddle.to_tensor(np.array([[1], [1]]))))
        0.5
    """
    from ..core.tensor import Tensor
    pred = _to_numpy(input, "input", "accuracy")
    lab = _to_numpy(label, "label", "accuracy")
    hit = _topk_correct(pred, lab, int(k), "accuracy")
    n_correct = int(hit.sum())
    n_total = int(np.prod(hit.shape[:-1]))
    for t, v in ((correct, n_correct), (total, n_total)):
        if isinstance(t, Tensor):
            t.set_value(np.full(t.shape, v, dtype=t.numpy().dtype))
    return Tensor(np.array(n_correct / max(n_total, 1), dtype=np.float32))
