"""The README's first command runs the whole story end to end."""
import os
import subprocess
import sys


def test_demo_runs_the_whole_story(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sampan.demo", "--workdir", str(tmp_path), "--epochs", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    for line in ("identical outputs=True", "TranslatedLayer prediction equals the Layer's: True",
                 "fresh LinearNet restored exactly: True", "predictor agrees with the Executor: True"):
        assert line in out, out[-3000:]
    for f in ("linear_net.pdparams", "adam.pdopt", "example.model/linear.pdmodel", "example.model/linear.pdiparams",
              "example.model/linear.pdiparams.info", "fine-tune.model/linear.pdmodel", "infer_model.pdmodel",
              "infer_model.pdiparams", "checkpoints/final.pdparams", "checkpoints/final.pdopt"):
        assert os.path.isfile(tmp_path / f), f
