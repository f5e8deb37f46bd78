"""The whole save/load story of Paddle's guide, in one run (the README's first command).

    python -m sampan.demo [--workdir DIR]

1. train the guide's LinearNet with ``Model.fit`` (progress bar), checkpoints in ``checkpoints/``;
2. ``paddle.save``/``paddle.load`` of the Layer and Adam state dicts, resumed in a fresh optimizer;
3. ``paddle.jit.save``; ``paddle.jit.load`` -> TranslatedLayer; predict, fine-tune, save again;
4. ``paddle.load`` of a jit.save prefix into a fresh LinearNet;
5. static graph: ``save_inference_model`` / ``load_inference_model`` and a prediction,
   and the same model through ``sampan.inference``;
6. the list of files written, with their sizes.
"""
from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

import sampan as paddle
import sampan.nn as nn
from sampan.static import InputSpec

IMAGE_SIZE, CLASS_NUM = 784, 10


class RandomDataset(paddle.io.Dataset):
    """Learnable synthetic data: the label is the argmax of a fixed random projection."""

    def __init__(self, num_samples, seed=0):
        rng = np.random.default_rng(seed)
        self.x = rng.random((num_samples, IMAGE_SIZE), dtype=np.float32)
        proj = np.random.default_rng(123).standard_normal((IMAGE_SIZE, CLASS_NUM)).astype(np.float32)
        self.y = np.argmax(self.x @ proj, axis=1).astype("int64").reshape(-1, 1)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]

    def __len__(self):
        return len(self.x)


class LinearNet(nn.Layer):
    def __init__(self):
        super().__init__()
        self._linear = nn.Linear(IMAGE_SIZE, CLASS_NUM)

    def forward(self, x):
        return self._linear(x)


def say(title):
    print(f"\n=== {title} ===", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default=None, help="where to write the files (default: a new temp dir)")
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args(argv)
    work = args.workdir or tempfile.mkdtemp(prefix="sampan_demo_")
    os.makedirs(work, exist_ok=True)
    os.chdir(work)
    print(f"sampan {paddle.__version__} demo, writing to {work}")
    paddle.seed(2021)

    say("1. high-level API: Model.fit with checkpoints")
    train, evals = RandomDataset(512, seed=0), RandomDataset(128, seed=1)
    model = paddle.Model(LinearNet(), inputs=[InputSpec([None, IMAGE_SIZE], "float32", "x")],
                         labels=[InputSpec([None, 1], "int64", "label")])
    model.prepare(paddle.optimizer.Adam(learning_rate=0.01, parameters=model.parameters()),
                  nn.CrossEntropyLoss(), paddle.metric.Accuracy())
    model.fit(train, evals, batch_size=64, epochs=args.epochs, save_dir="checkpoints", verbose=1)
    result = model.evaluate(evals, batch_size=64, verbose=0)
    print("evaluate:", {k: (float(np.mean(v)) if not isinstance(v, (int, float)) else v) for k, v in result.items()})
    model.save("model/linear")                       # .pdparams + .pdopt
    model.save("inference/linear", training=False)   # jit.save: .pdmodel + .pdiparams + .pdiparams.info

    say("2. paddle.save / paddle.load of state dicts (guide 2.1)")
    layer = model.network
    adam = model._optimizer
    paddle.save(layer.state_dict(), "linear_net.pdparams")
    paddle.save(adam.state_dict(), "adam.pdopt")
    fresh = LinearNet()
    fresh_adam = paddle.optimizer.Adam(learning_rate=0.01, parameters=fresh.parameters())
    missing, unexpected = fresh.set_state_dict(paddle.load("linear_net.pdparams"))
    fresh_adam.set_state_dict(paddle.load("adam.pdopt"))
    x = paddle.to_tensor(evals.x[:8])
    same = np.array_equal(fresh(x).numpy(), layer(x).numpy())
    print(f"restored a fresh LinearNet: missing={missing} unexpected={unexpected} identical outputs={same}")

    say("3. jit.save -> jit.load -> predict, fine-tune, save again (guide 3.1)")
    layer.eval()
    paddle.jit.save(layer, "example.model/linear", input_spec=[InputSpec([None, IMAGE_SIZE], "float32")])
    loaded = paddle.jit.load("example.model/linear")
    loaded.eval()
    print(f"TranslatedLayer prediction equals the Layer's: {np.allclose(loaded(x).numpy(), layer(x).numpy())}")
    loaded.train()
    opt = paddle.optimizer.Adam(learning_rate=0.001, parameters=loaded.parameters())
    loader = paddle.io.DataLoader(train, batch_size=64, shuffle=True, drop_last=True)
    loss_fn = nn.CrossEntropyLoss()
    for batch_id, (image, label) in enumerate(loader()):
        loss = loss_fn(loaded(image), label)
        loss.backward()
        opt.step()
        opt.clear_grad()
        if batch_id % 4 == 0:
            print(f"  fine-tune batch {batch_id}: loss = {float(loss):.4f}")
    paddle.jit.save(loaded, "fine-tune.model/linear", input_spec=[x])
    print("re-saved the fine-tuned TranslatedLayer to fine-tune.model/linear")

    say("4. paddle.load of a jit.save prefix into a fresh Layer (guide 3.1.2)")
    state_dict = paddle.load("example.model/linear")
    print("keys:", sorted(state_dict))
    with paddle.utils.unique_name.guard():
        fresh2 = LinearNet()
    fresh2.set_state_dict(state_dict, use_structured_name=False)
    print(f"fresh LinearNet restored exactly: {np.array_equal(fresh2(x).numpy(), layer(x).numpy())}")

    say("5. static graph: save_inference_model / load_inference_model (guide 3.2)")
    paddle.enable_static()
    try:
        main_prog, startup = paddle.static.Program(), paddle.static.Program()
        with paddle.static.program_guard(main_prog, startup):
            image = paddle.static.data(name="img", shape=[None, IMAGE_SIZE])
            w = paddle.create_parameter(shape=[IMAGE_SIZE, 200], dtype="float32")
            b = paddle.create_parameter(shape=[200], dtype="float32")
            hidden = paddle.add(paddle.matmul(x=image, y=w), b)
        exe = paddle.static.Executor(paddle.CPUPlace())
        exe.run(startup)
        paddle.static.save_inference_model("./infer_model", [image], [hidden], exe)
        prog, feed_names, fetch_targets = paddle.static.load_inference_model("./infer_model", exe)
        img = np.random.default_rng(0).random((4, IMAGE_SIZE), dtype=np.float32)
        out, = exe.run(prog, feed={feed_names[0]: img}, fetch_list=fetch_targets)
        print(f"feeds {feed_names}, output shape {list(out.shape)}")
    finally:
        paddle.disable_static()
    from sampan import inference
    pred = inference.create_predictor(inference.Config("infer_model.pdmodel", "infer_model.pdiparams"))
    h = pred.get_input_handle(pred.get_input_names()[0])
    h.copy_from_cpu(img)
    pred.run()
    out2 = pred.get_output_handle(pred.get_output_names()[0]).copy_to_cpu()
    print(f"sampan.inference predictor agrees with the Executor: {np.allclose(out, out2)}")

    say("6. files written")
    total = 0
    for d, _, fs in sorted(os.walk(".")):
        for f in sorted(fs):
            p = os.path.join(d, f)
            total += os.path.getsize(p)
            print(f"  {os.path.getsize(p):>9,d}  {os.path.relpath(p)}")
    print(f"  {total:>9,d}  bytes in total, under {work}")


if __name__ == "__main__":
    main()
