"The `rnn-pipeline` console script, run as a user would run it."
import subprocess
import sys
from pathlib import Path

from PIL import Image

from rnn_pipeline.tasks import TASKS

SCRIPT = Path(sys.executable).parent/'rnn-pipeline'
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def run_demo(out: Path) -> subprocess.CompletedProcess:
    "Run `rnn-pipeline demo --out out` in a subprocess."
    return subprocess.run([str(SCRIPT), 'demo', '--out', str(out)], capture_output=True, text=True, timeout=300)


def snapshot(folder: Path) -> dict:
    "Name -> (bytes, modification time) of every file in `folder`."
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_demo_writes_one_png_per_task(tmp_path):
    out = tmp_path/'demo'
    result = run_demo(out)
    assert result.returncode == 0, result.stderr
    expected = [out/f'{name}.png' for name in TASKS]
    assert result.stdout.split() == [str(p) for p in expected]
    assert sorted(out.iterdir()) == sorted(expected)
    for path in expected:
        assert path.read_bytes().startswith(PNG_SIGNATURE)
        with Image.open(path) as image:
            image.verify()
            assert image.format == 'PNG' and min(image.size) > 100


def test_demo_never_overwrites(tmp_path):
    out = tmp_path/'demo'
    assert run_demo(out).returncode == 0
    before = snapshot(out)
    result = run_demo(out)
    assert result.returncode == 2
    assert result.stderr == f"rnn-pipeline: error: {out/'CDDM.png'} already exists; choose another --out folder\n"
    assert snapshot(out) == before


def test_bad_arguments_exit_2(tmp_path):
    result = subprocess.run([str(SCRIPT), 'demo', '--seed', 'abc', '--out', str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and 'invalid int value' in result.stderr
    assert list(tmp_path.iterdir()) == []
