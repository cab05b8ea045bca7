"The README's Quick start: exactly two commands, the same in nbs/index.ipynb, each running a script that exists."

import json
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ['bash scripts/main.sh', 'bash scripts/test.sh']


def quick_start_commands(markdown: str) -> list:
    "The non-empty lines of the code blocks in the 'Quick start' section of `markdown`."
    section = re.search(r'^## Quick start\n(.*?)(?=^## |\Z)', markdown, re.M | re.S)
    assert section, "no '## Quick start' section"
    blocks = re.findall(r'^```[^\n]*\n(.*?)^```', section.group(1), re.M | re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def notebook_markdown(path: Path) -> str:
    "The markdown cells of the notebook at `path`, joined."
    cells = json.loads(path.read_text())['cells']
    return '\n\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'markdown')


def test_readme_quick_start():
    assert quick_start_commands((ROOT / 'README.md').read_text()) == COMMANDS


def test_index_quick_start():
    assert quick_start_commands(notebook_markdown(ROOT / 'nbs/index.ipynb')) == COMMANDS


def test_scripts_exist():
    for command in COMMANDS:
        assert (ROOT / command.split()[1]).is_file(), command


def test_ci_runs_the_test_command():
    ci = ROOT / '.ci/run'
    assert os.access(ci, os.X_OK)
    assert 'bash scripts/test.sh' in ci.read_text()
