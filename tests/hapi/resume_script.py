"""Run by test_hapi_model.py in fresh processes: train, checkpoint, resume.

usage: resume_script.py PHASE WORKDIR
  full    fit 3 epochs uninterrupted               -> WORKDIR/full.npz
  part1   fit 2 epochs, Model.save(WORKDIR/ckpt)
  part2   new process: Model.load(WORKDIR/ckpt), fit 1 epoch -> WORKDIR/resumed.npz
"""
import os
import sys

import numpy as np

import sampan as paddle
import sampan.nn as nn
from sampan.static import InputSpec

PHASE, WORKDIR = sys.argv[1], sys.argv[2]


class Data(paddle.io.Dataset):
    def __init__(self):
        rs = np.random.RandomState(7)
        self.x = rs.standard_normal([48, 6]).astype("float32")
        self.y = (self.x[:, :1] + self.x[:, 1:2] > 0).astype("int64")

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    def __len__(self):
        return len(self.x)


class Net(nn.Layer):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc2(paddle.tanh(self.fc1(x)))


def build():
    paddle.seed(123)  # the same initial parameters in every phase
    net = Net()
    model = paddle.Model(net, inputs=[InputSpec([None, 6], "float32", "x")],
                         labels=[InputSpec([None, 1], "int64", "label")])
    sched = paddle.optimizer.lr.StepDecay(learning_rate=0.05, step_size=5, gamma=0.5)
    opt = paddle.optimizer.Adam(learning_rate=sched, parameters=model.parameters())
    model.prepare(opt, nn.CrossEntropyLoss(), paddle.metric.Accuracy())
    return net, model


def params(net):
    return {k: np.array(v.numpy()) for k, v in net.state_dict().items()}


net, model = build()
data = Data()
if PHASE == "full":
    model.fit(data, batch_size=10, epochs=3, shuffle=False, verbose=0)
    np.savez(os.path.join(WORKDIR, "full.npz"), **params(net))
elif PHASE == "part1":
    model.fit(data, batch_size=10, epochs=2, shuffle=False, verbose=0)
    model.save(os.path.join(WORKDIR, "ckpt"))
elif PHASE == "part2":
    model.load(os.path.join(WORKDIR, "ckpt"))
    model.fit(data, batch_size=10, epochs=1, shuffle=False, verbose=0)
    np.savez(os.path.join(WORKDIR, "resumed.npz"), **params(net))
else:
    raise SystemExit(f"unknown phase {PHASE}")
print("done", PHASE)
