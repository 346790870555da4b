"""benchmarks/gpu_check.sh says so and succeeds where there is no GPU; its throughput part runs
end to end on CPU at a tiny size and prints every row."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[3]


def _throughput_script():
    """benchmarks/gpu_throughput.py as a module (benchmarks/ itself stays off sys.path)."""
    spec = importlib.util.spec_from_file_location("gpu_throughput", REPO / "benchmarks" / "gpu_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the check would run")
def test_without_a_gpu_the_check_says_so_and_succeeds():
    result = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh")], capture_output=True, text=True,
                            timeout=120, env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "no GPU visible to torch" in result.stdout


def test_the_throughput_script_runs_on_cpu_at_a_tiny_size(tmp_path, capsys):
    assert _throughput_script().main(["--device", "cpu", "--arch", "small", "--size", "32", "--batch", "2",
                                "--iterations", "1", "--warmup", "1", "--workers", "0", "--amp", "off",
                                "--work", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for row in ("JPEG files ", "array store ", "synthetic batches ", "JPEG files alone", "array store alone"):
        assert row in out, out
    assert "4 VOC-size images (500x375 JPEG)" in out and list(tmp_path.iterdir()) == []  # temp dir removed
