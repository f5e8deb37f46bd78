"""``paddle.metric`` against values computed by hand."""
import numpy as np
import pytest

import sampan as paddle
from sampan.metric import Accuracy, Auc, Precision, Recall

SCORES = np.array([[0.1, 0.7, 0.2],    # top1 = 1, top2 = {1, 2}
                   [0.5, 0.3, 0.2],    # top1 = 0, top2 = {0, 1}
                   [0.2, 0.3, 0.5],    # top1 = 2, top2 = {2, 1}
                   [0.6, 0.1, 0.3]],   # top1 = 0, top2 = {0, 2}
                  dtype="float32")
LABELS = np.array([[1], [1], [0], [2]], dtype="int64")
# top1 hits: row 0 only -> 1/4; top2 hits: rows 0, 1, 3 -> 3/4


def test_accuracy_top1_and_top2_by_hand():
    m = Accuracy(topk=(1, 2))
    assert m.name() == ["acc_top1", "acc_top2"]
    correct = m.compute(paddle.to_tensor(SCORES), paddle.to_tensor(LABELS))
    assert correct.shape == (4, 2) and correct.dtype == np.float32
    assert m.update(correct) == [0.25, 0.75]
    assert m.accumulate() == [0.25, 0.75]


def test_accuracy_accumulates_over_batches_weighted_by_samples():
    m = Accuracy()
    assert m.name() == ["acc"]
    assert m.update(m.compute(SCORES, LABELS)) == 0.25                      # 1 of 4
    assert m.update(m.compute(SCORES[:2], np.array([[1], [0]]))) == 1.0     # 2 of 2
    assert m.accumulate() == pytest.approx(3 / 6)
    m.reset()
    assert m.accumulate() == 0.0


def test_accuracy_one_hot_and_flat_labels():
    m = Accuracy()
    one_hot = np.eye(3, dtype="float32")[LABELS.ravel()]
    assert m.update(m.compute(SCORES, one_hot)) == 0.25
    assert m.update(m.compute(SCORES, LABELS.ravel())) == 0.25


def test_accuracy_rejects_topk_larger_than_classes():
    with pytest.raises(ValueError, match="fewer than topk=5"):
        Accuracy(topk=5).compute(SCORES, LABELS)


def test_functional_accuracy():
    total = paddle.to_tensor(np.zeros([1], "int64"))
    acc = paddle.metric.accuracy(paddle.to_tensor(SCORES), paddle.to_tensor(LABELS), k=2, total=total)
    assert float(acc) == pytest.approx(0.75) and int(total.numpy()[0]) == 4


PREDS = np.array([0.9, 0.6, 0.2, 0.7, 0.4], dtype="float32")   # >= 0.5 -> positive: rows 0, 1, 3
TRUTH = np.array([1, 0, 1, 1, 1], dtype="int64")
# tp = rows 0, 3 (2); fp = row 1 (1); fn = rows 2, 4 (2)


def test_precision_and_recall_by_hand():
    p, r = Precision(), Recall()
    p.update(PREDS.reshape(-1, 1), TRUTH.reshape(-1, 1))
    r.update(paddle.to_tensor(PREDS), paddle.to_tensor(TRUTH))
    assert p.accumulate() == pytest.approx(2 / 3)
    assert r.accumulate() == pytest.approx(2 / 4)
    assert (p.name(), r.name()) == ("precision", "recall")
    p.update(np.array([0.8]), np.array([0]))            # one more false positive
    assert p.accumulate() == pytest.approx(2 / 4)
    p.reset()
    assert p.accumulate() == 0.0
    with pytest.raises(ValueError, match="must be a numpy.ndarray or a Tensor"):
        p.update("0.5", TRUTH)


def test_auc_equals_the_pairwise_ranking_probability():
    pos = [0.9, 0.6, 0.3]
    neg = [0.8, 0.2, 0.1, 0.05]
    # ordered pairs: 0.9 beats 4 negatives, 0.6 beats 3, 0.3 beats 3 -> 10 of 12
    m = Auc()
    scores = np.array(pos + neg)
    m.update(np.stack([1 - scores, scores], axis=1), np.array([1] * 3 + [0] * 4).reshape(-1, 1))
    assert m.accumulate() == pytest.approx(10 / 12)
    assert m.name() == "auc"


def test_auc_ties_count_half_and_degenerate_sets_give_zero():
    m = Auc()
    m.update(np.array([0.5, 0.5]), np.array([1, 0]))
    assert m.accumulate() == pytest.approx(0.5)
    m.reset()
    m.update(np.array([0.5, 0.7]), np.array([1, 1]))     # no negatives
    assert m.accumulate() == 0.0
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        m.update(np.array([1.5]), np.array([1]))
