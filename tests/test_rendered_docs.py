"""The tutorial pages as a reader sees them: processed by nbdev, rendered to HTML, opened in headless Chromium.

Quarto cannot be installed here, so the test stands in for the docs build: in a temporary copy of the working tree
it runs `nbdev-proc-nbs` on the tutorials (with a stub `quarto` on PATH; nbdev only checks that one exists), renders each processed
tutorial (`_proc/tutorials/*.ipynb`) to HTML with nbconvert, opens the page in Chromium (Playwright; no network:
every request that is not a file is refused) and asserts that it shows at least one figure and no Python
traceback. A full-page screenshot of each lands in test-artifacts/docs/ (gitignored); the figure count of each
page is printed into the test run's output. Needs Chromium at `CHROMIUM` (scripts/test.sh installs it)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'scripts'))
TUTORIALS = sorted(p.name for p in (ROOT / 'nbs/tutorials').glob('*.ipynb'))
ARTIFACTS = ROOT / 'test-artifacts/docs'
CHROMIUM = os.environ.get('RNN_PIPELINE_CHROMIUM', '/usr/bin/chromium')
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync']
# Text that shows a Python error on a page
TRACEBACKS = ('Traceback (most recent call last)', 'Error Traceback')
PAGE_TIMEOUT_MS = 60_000


@pytest.fixture(scope='module')
def pages(tmp_path_factory):
    "{tutorial file name: its HTML page}, rendered from the processed notebooks of a copy of the tree."
    import nbformat
    from docs_outputs import copy_tree
    from nbconvert import HTMLExporter

    tmp = tmp_path_factory.mktemp('docs')
    copy_tree(tmp)
    stub = tmp / 'stub-bin'
    stub.mkdir()
    (stub / 'quarto').write_text('#!/bin/sh\necho "quarto stub: $*"\n')
    (stub / 'quarto').chmod(0o755)
    env = dict(os.environ, PATH=f"{stub}{os.pathsep}{os.environ['PATH']}")
    proc_nbs = Path(sys.executable).parent / 'nbdev-proc-nbs'
    # The tutorials only: the chapters' pages are not what this test looks at (and nbdev runs their
    # show_doc cells while processing them).
    done = subprocess.run(
        [str(proc_nbs), '--path-glob', '*/nbs/tutorials/*.ipynb'],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (
        f'nbdev-proc-nbs failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}'
    )
    exporter = HTMLExporter(template_name='lab', exclude_raw=True)  # the raw cell is Quarto's front matter
    out = {}
    for name in TUTORIALS:
        nb_path = tmp / '_proc/tutorials' / name
        assert nb_path.is_file(), f'nbdev-proc-nbs wrote no {nb_path.relative_to(tmp)}'
        html, _ = exporter.from_notebook_node(nbformat.read(nb_path, as_version=4))
        page = nb_path.with_suffix('.html')
        page.write_text(html)
        out[name] = page
    return out


@pytest.fixture(scope='module')
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.skip(f'no Chromium at {CHROMIUM} (scripts/test.sh installs it)')
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def open_page(browser, path: Path):
    "A page of `browser` showing the file at `path`, every request that is not a file refused."
    page = browser.new_page(viewport={'width': 1280, 'height': 1000})
    page.route(
        '**/*',
        lambda route: route.continue_() if route.request.url.startswith('file:') else route.abort(),
    )
    page.goto(path.as_uri(), wait_until='load', timeout=PAGE_TIMEOUT_MS)
    return page


def visible_figures(page) -> int:
    "The number of output images on `page` that are drawn with a size."
    return page.evaluate(
        """() => [...document.querySelectorAll('.jp-OutputArea-output img, .jp-RenderedImage img')]
             .filter(i => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0).length"""
    )


@pytest.mark.parametrize('name', TUTORIALS)
def test_tutorial_page(pages, browser, name, say):
    page = open_page(browser, pages[name])
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f'{Path(name).stem}.png'
        page.screenshot(path=str(shot), full_page=True)
        figures, text = visible_figures(page), page.inner_text('body')
    finally:
        page.close()
    say(f'docs page tutorials/{name}: {figures} figure(s); screenshot {shot.relative_to(ROOT)}')
    shown = [t for t in TRACEBACKS if t in text]
    assert not shown, f'tutorials/{name} shows a Python traceback ({shown})'
    assert figures >= 1, (
        f'tutorials/{name} shows no figure (stored outputs: scripts/docs_outputs.py)'
    )
