"""The guide's section 2.1, verbatim but for the import, with num_workers=2; and learning on data
that can be learned (the guide's data are random on every access, so its loss cannot fall)."""
import subprocess
import sys
import textwrap

import numpy as np

import sampan as paddle
import sampan.nn as nn

GUIDE_2_1 = textwrap.dedent('''
    import numpy as np
    import sampan as paddle
    import sampan.nn as nn
    import sampan.optimizer as opt

    BATCH_SIZE = 16
    BATCH_NUM = 4
    EPOCH_NUM = 4

    IMAGE_SIZE = 784
    CLASS_NUM = 10

    # define a random dataset
    class RandomDataset(paddle.io.Dataset):
        def __init__(self, num_samples):
            self.num_samples = num_samples

        def __getitem__(self, idx):
            image = np.random.random([IMAGE_SIZE]).astype('float32')
            label = np.random.randint(0, CLASS_NUM - 1, (1, )).astype('int64')
            return image, label

        def __len__(self):
            return self.num_samples

    class LinearNet(nn.Layer):
        def __init__(self):
            super(LinearNet, self).__init__()
            self._linear = nn.Linear(IMAGE_SIZE, CLASS_NUM)

        def forward(self, x):
            return self._linear(x)

    def train(layer, loader, loss_fn, opt):
        for epoch_id in range(EPOCH_NUM):
            for batch_id, (image, label) in enumerate(loader()):
                out = layer(image)
                loss = loss_fn(out, label)
                loss.backward()
                opt.step()
                opt.clear_grad()
                print("Epoch {} batch {}: loss = {}".format(
                    epoch_id, batch_id, np.mean(loss.numpy())))

    # create network
    layer = LinearNet()
    loss_fn = nn.CrossEntropyLoss()
    adam = opt.Adam(learning_rate=0.001, parameters=layer.parameters())

    # create data loader
    dataset = RandomDataset(BATCH_NUM * BATCH_SIZE)
    loader = paddle.io.DataLoader(dataset,
        batch_size=BATCH_SIZE,
        shuffle=True,
        drop_last=True,
        num_workers=2)

    w0 = layer._linear.weight.numpy().copy()   # [test] snapshot
    # train
    train(layer, loader, loss_fn, adam)
    print("CHANGED", float(np.abs(layer._linear.weight.numpy() - w0).max()))  # [test]
''')


def test_guide_2_1_runs_verbatim_with_two_workers(tmp_path):
    script = tmp_path / "guide_2_1.py"
    script.write_text(GUIDE_2_1)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    losses = [float(line.rsplit("=", 1)[1]) for line in r.stdout.splitlines() if line.startswith("Epoch")]
    assert len(losses) == 16, r.stdout
    assert all(np.isfinite(losses))
    changed = float(r.stdout.split("CHANGED")[1])
    assert changed > 0


def test_linear_net_learns_a_learnable_dataset():
    rng = np.random.default_rng(0)
    x = rng.random((256, 784), dtype=np.float32)
    proj = rng.standard_normal((784, 10)).astype(np.float32)
    y = np.argmax(x @ proj, axis=1).reshape(-1, 1).astype(np.int64)
    layer = nn.Linear(784, 10)
    adam = paddle.optimizer.Adam(learning_rate=0.01, parameters=layer.parameters())
    loss_fn = nn.CrossEntropyLoss()
    loader = paddle.io.DataLoader(paddle.io.TensorDataset([paddle.to_tensor(x), paddle.to_tensor(y)]),
                                  batch_size=32, shuffle=True, drop_last=True)
    first, last = None, None
    for _ in range(8):
        for image, label in loader():
            loss = loss_fn(layer(image), label)
            loss.backward()
            adam.step()
            adam.clear_grad()
            first = float(loss) if first is None else first
            last = float(loss)
    acc = float((layer(paddle.to_tensor(x)).numpy().argmax(1) == y[:, 0]).mean())
    assert last < 0.5 * first and acc > 0.8, (first, last, acc)
