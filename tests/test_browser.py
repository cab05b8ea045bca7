"""The explorers in a real browser: JupyterLab on a loopback port, headless Chromium driven by Playwright.

The test starts JupyterLab on 127.0.0.1 (free port, random token, isolated Jupyter dirs, a temp copy of the notebook's
folder as root), opens `NOTEBOOK`, runs all cells from the Run menu, waits for the fixed-point explorer to render,
moves its first input slider (named after the task's first input channel) with the keyboard, and asserts that the
figure's pixels changed, that no cell shows an error, and that both explorers fit the 1280-pixel-wide window without a
horizontal scroll bar. Screenshots land in test-artifacts/browser/ (gitignored). The server, its kernels and the browser are stopped
whatever happens. Needs Chromium at `CHROMIUM` (Debian's `chromium` package; scripts/test.sh installs it)."""

import base64
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rnn_pipeline.tasks import TaskNBitFlipFlop

ROOT = Path(__file__).resolve().parents[1]
# The notebook opened; its whole folder is copied into the server's root
NOTEBOOK = ROOT / 'tests/notebooks/explorer.ipynb'
# The description of the explorer's slider that the test moves: the flip-flop task's first input channel
SLIDER = TaskNBitFlipFlop().input_names[0]
# The browser window's size: the explorers must fit its width
VIEWPORT = {'width': 1280, 'height': 1000}
# ArrowRight presses on that slider (one slider step each)
PRESSES = 10
ARTIFACTS = ROOT / 'test-artifacts/browser'
CHROMIUM = os.environ.get('RNN_PIPELINE_CHROMIUM', '/usr/bin/chromium')
CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
]
# Bounded waits, in seconds: a normal run takes well under a minute.
SERVER_TIMEOUT, PAGE_TIMEOUT, RUN_TIMEOUT, UPDATE_TIMEOUT = 60, 60, 120, 60
# An output whose text matches this shows an error (a traceback, an exception, a widget that failed to load).
ERROR_PATTERN = r'Traceback|Error|Failed to load model'
# JupyterLab user settings for the run: no autosave, no news or update checks (no internet), nothing that pops up.
LAB_SETTINGS = {
    '@jupyterlab/docmanager-extension/plugin.jupyterlab-settings': {'autosave': False},
    '@jupyterlab/apputils-extension/notification.jupyterlab-settings': {
        'fetchNews': 'false',
        'checkForUpdates': False,
    },
}


def _free_port() -> int:
    "A port free on the loopback interface now."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _request(url: str, token: str, method: str = 'GET', timeout: float = 5):
    "The parsed JSON answer of the server to `method url` (authenticated with `token`)."
    req = urllib.request.Request(url, method=method, headers={'Authorization': f'token {token}'})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b'null')


def _wait_for_kernel(base: str, token: str, path: str, timeout: float):
    """Wait until the server runs one kernel, the notebook's, idle and connected to the page, for a second on end.
    (JupyterLab may start a second kernel while it opens a notebook and shut the first down: cells run during that
    switch are lost, so run them only once the kernel has settled.)"""
    deadline, settled = time.monotonic() + timeout, None
    while True:
        try:  # the server may answer 500 while a kernel is starting
            sessions = [s for s in _request(f'{base}/api/sessions', token) if s['path'] == path]
            kernels = _request(f'{base}/api/kernels', token)
        except OSError as e:
            sessions, kernels = [], [f'{type(e).__name__}: {e}']
        ready = (
            len(sessions) == 1
            and len(kernels) == 1
            and sessions[0]['kernel']['id'] == kernels[0]['id']
            and kernels[0]['execution_state'] == 'idle'
            and kernels[0].get('connections', 0) >= 1
        )
        now, kernel = time.monotonic(), kernels[0]['id'] if ready else None
        if not ready or settled is None or settled[0] != kernel:
            settled = (kernel, now)
        if ready and now - settled[1] >= 1:
            return kernel
        if now > deadline:
            pytest.fail(
                f'the kernel did not settle within {timeout} s: sessions {sessions}, kernels {kernels}'
            )
        time.sleep(0.25)


def _die_with_parent():
    "Run in the server's process before exec: on Linux, have it SIGTERMed if pytest dies (even by SIGKILL)."
    if sys.platform.startswith('linux'):
        import ctypes

        ctypes.CDLL(None).prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG


def _descendants(pid: int) -> list:
    "The processes below `pid` (psutil comes with ipykernel)."
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _stop_server(proc: subprocess.Popen, base: str, token: str):
    "Shut the server down through its API, then signal its process group, then kill whatever of it is left."
    import psutil

    # kernels run in their own sessions: remember them now
    children = _descendants(proc.pid)
    if proc.poll() is None:
        try:
            _request(f'{base}/api/shutdown', token, method='POST')
        except Exception:
            pass
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(5)
                    break
                except subprocess.TimeoutExpired:
                    pass
    for child in children:
        try:
            child.kill()
        except psutil.Error:
            pass


def _require_chromium():
    "Fail (not skip: CI must run this test) when there is no Chromium to drive."
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f'Chromium not found at {CHROMIUM}: install it (apt-get install chromium, as scripts/test.sh does) '
            'or point RNN_PIPELINE_CHROMIUM at a Chromium executable.',
            pytrace=False,
        )


@pytest.fixture
def lab(tmp_path):
    "A JupyterLab server for a temp copy of the notebook's folder: (base url, token, server process)."
    _require_chromium()  # before starting anything
    root = tmp_path / 'root'
    shutil.copytree(NOTEBOOK.parent, root, ignore=shutil.ignore_patterns('.ipynb_checkpoints'))
    dirs = {
        k: tmp_path / 'jupyter' / k.lower()
        for k in (
            'JUPYTER_CONFIG_DIR',
            'JUPYTER_DATA_DIR',
            'JUPYTER_RUNTIME_DIR',
            'JUPYTERLAB_SETTINGS_DIR',
            'JUPYTERLAB_WORKSPACES_DIR',
            'IPYTHONDIR',
        )
    }
    for d in dirs.values():
        d.mkdir(parents=True)
    for name, settings in LAB_SETTINGS.items():
        path = dirs['JUPYTERLAB_SETTINGS_DIR'] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    env = dict(
        os.environ, **{k: str(v) for k, v in dirs.items()}, MPLBACKEND='Agg', PYTHONUNBUFFERED='1'
    )
    port, token = _free_port(), secrets.token_hex(24)
    base = f'http://127.0.0.1:{port}'
    # sys.executable is the venv's Python: the server runs from the venv and starts the venv's ipykernel as `python3`.
    cmd = [
        sys.executable,
        '-m',
        'jupyterlab',
        '--no-browser',
        '--ServerApp.ip=127.0.0.1',
        f'--ServerApp.port={port}',
        '--ServerApp.port_retries=0',
        f'--IdentityProvider.token={token}',
        f'--ServerApp.root_dir={root}',
        '--ServerApp.allow_root=True',
        '--LabApp.extension_manager=readonly',  # CI containers run as root
        '--LabApp.news_url=None',
        '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
    ]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / 'jupyterlab.log'
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        try:
            deadline = time.monotonic() + SERVER_TIMEOUT
            while True:
                if proc.poll() is not None:
                    pytest.fail(
                        f'JupyterLab exited with code {proc.returncode}:\n{log_path.read_text()[-3000:]}'
                    )
                try:
                    _request(f'{base}/api/status', token, timeout=2)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        pytest.fail(
                            f'JupyterLab did not answer within {SERVER_TIMEOUT} s:\n{log_path.read_text()[-3000:]}'
                        )
                    time.sleep(0.5)
            yield base, token, proc
        finally:
            _stop_server(proc, base, token)
    print(f'\nJupyterLab log: {log_path}')


@pytest.fixture
def page():
    "A page of headless Chromium (Debian's, not Playwright's download), closed whatever happens."
    _require_chromium()
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            context = browser.new_context(viewport=VIEWPORT)
            yield context.new_page()
        finally:
            browser.close()
    finally:
        pw.stop()


# A predicate over the page: true once all n code cells show an execution count, or as soon as an output shows an error.
ALL_RAN_OR_ERROR = """([n, pattern]) => {
  const outputs = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')];
  if (outputs.some(o => new RegExp(pattern).test(o.textContent))) return 'error';
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim());
  return prompts.length === n && prompts.every(p => /^\\[\\d+\\]:$/.test(p)) ? 'ran' : false;
}"""
# The bytes of the PNG that an <img> shows (the Image widget's src is a blob: URL), base64-encoded.
SHOWN_PNG = """async img => {
  const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}"""


# Where an explorer's box ends on the page, and whether it or an output area holding it scrolls sideways.
FITS = """box => {
  const scrolls = el => el.scrollWidth > el.clientWidth + 1;
  const area = box.closest('.jp-OutputArea-output');
  return {right: Math.max(...[box, ...box.querySelectorAll('img, .widget-slider')].map(
            e => e.getBoundingClientRect().right)),
          scrolls: scrolls(box) || (area !== null && scrolls(area)), width: box.clientWidth};
}"""


def _errors(page) -> list:
    "The texts of the outputs that show an error: stderr with a traceback, or any output matching `ERROR_PATTERN`."
    stderr = page.locator(
        '.jp-Notebook .jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'
    ).all_inner_texts()
    outputs = page.locator('.jp-Notebook .jp-OutputArea-output').all_inner_texts()
    return list(
        dict.fromkeys(
            [t for t in stderr if 'Traceback' in t]
            + [t for t in outputs if re.search(ERROR_PATTERN, t)]
        )
    )


def _shown_image(img):
    "The picture that the <img> located by `img` shows, decoded (RGB)."
    from PIL import Image

    return Image.open(io.BytesIO(base64.b64decode(img.evaluate(SHOWN_PNG)))).convert('RGB')


def _pixels_changed(a, b) -> int:
    "How many pixels differ between two pictures (all of them if their sizes differ)."
    import numpy as np

    if a.size != b.size:
        return max(a.width * a.height, b.width * b.height)
    return int(np.any(np.asarray(a) != np.asarray(b), axis=-1).sum())


def test_fixed_point_explorer_in_jupyterlab(lab, page):
    from playwright.sync_api import expect

    base, token, server = lab
    start = time.perf_counter()
    timings, console = {}, []
    page.on(
        'console',
        lambda m: console.append(f'{m.type}: {m.text}') if m.type in ('error', 'warning') else None,
    )
    page.on('pageerror', lambda e: console.append(f'pageerror: {e}'))
    shots = {
        k: ARTIFACTS / f'{k}.png'
        for k in (
            '1-before',
            '2-after',
            'explorer-figure-before',
            'explorer-figure-after',
            'trial-explorer',
            'failure',
        )
    }
    for p in shots.values():
        p.unlink(missing_ok=True)
    n_code = sum(c['cell_type'] == 'code' for c in json.loads(NOTEBOOK.read_text())['cells'])
    try:
        page.goto(f'{base}/lab/tree/{NOTEBOOK.name}?token={token}', timeout=PAGE_TIMEOUT * 1000)
        expect(page.locator('.jp-Notebook .jp-CodeCell')).to_have_count(
            n_code, timeout=PAGE_TIMEOUT * 1000
        )
        _wait_for_kernel(base, token, NOTEBOOK.name, PAGE_TIMEOUT)
        expect(
            page.locator('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator')
        ).to_have_attribute('data-status', 'idle', timeout=PAGE_TIMEOUT * 1000)
        timings['notebook open, kernel idle'] = time.perf_counter() - start
        extensions = [
            e['name']
            for e in json.loads(page.locator('#jupyter-config-data').text_content())[
                'federated_extensions'
            ]
        ]
        assert '@jupyter-widgets/jupyterlab-manager' in extensions, (
            f'the ipywidgets JupyterLab extension (jupyterlab_widgets) is not active: {extensions}'
        )

        # Run > Run All Cells, by the menus' labels.
        page.locator('.lm-MenuBar-itemLabel', has_text=re.compile(r'^Run$')).click()
        page.locator('.lm-Menu-itemLabel', has_text=re.compile(r'^Run All Cells$')).click()
        state = page.wait_for_function(
            ALL_RAN_OR_ERROR, arg=[n_code, ERROR_PATTERN], timeout=RUN_TIMEOUT * 1000, polling=250
        ).json_value()
        assert state == 'ran' and not _errors(page), 'a cell failed:\n' + '\n---\n'.join(
            _errors(page)
        )
        timings['all cells ran'] = time.perf_counter() - start

        # The kernel is the venv's Python: the server (started with sys.executable) runs `python -m ipykernel_launcher`.
        kernels = [
            p for p in _descendants(server.pid) if 'ipykernel_launcher' in ' '.join(p.cmdline())
        ]
        assert kernels and all(Path(k.cmdline()[0]) == Path(sys.executable) for k in kernels), (
            f'kernel not run by {sys.executable}: {[k.cmdline() for k in kernels]}'
        )

        # The fixed-point explorer: the HBox that holds the slider and the figure.
        label = page.locator('.widget-label', has_text=re.compile(f'^{re.escape(SLIDER)}$'))
        explorer = (
            page.locator('.widget-hbox')
            .filter(has=label)
            .filter(has=page.locator('img.widget-image'))
            .first
        )
        slider = explorer.locator('.widget-slider').filter(has=label)
        figure, status = (
            explorer.locator('img.widget-image'),
            explorer.locator('.widget-html-content'),
        )
        expect(slider).to_be_visible(timeout=UPDATE_TIMEOUT * 1000)
        expect(status).to_contain_text('stable', timeout=UPDATE_TIMEOUT * 1000)
        figure.scroll_into_view_if_needed()
        page.wait_for_function(
            'img => img.complete && img.naturalWidth > 0',
            arg=figure.element_handle(),
            timeout=UPDATE_TIMEOUT * 1000,
        )
        # The trial explorer rendered too.
        trials = (
            page.locator('.widget-hbox')
            .filter(has=page.locator('.widget-label', has_text='trial seed'))
            .first
        )
        expect(trials.locator('img.widget-image')).to_be_visible(timeout=UPDATE_TIMEOUT * 1000)
        trials.screenshot(path=shots['trial-explorer'])
        figure.scroll_into_view_if_needed()
        status_before, src_before = status.inner_text(), figure.get_attribute('src')
        value_before = float(slider.locator('.widget-readout').inner_text())
        page.screenshot(path=shots['1-before'], full_page=True)
        figure.screenshot(path=shots['explorer-figure-before'])
        image_before = _shown_image(figure)

        # Move the slider: focus its handle and press ArrowRight; every step sends the value to the kernel.
        slider.locator('.noUi-handle').focus()
        for _ in range(PRESSES):
            page.keyboard.press('ArrowRight')
        readout = slider.locator('.widget-readout')
        expect(readout).not_to_have_text(f'{value_before:.2f}', timeout=UPDATE_TIMEOUT * 1000)
        value_after = float(readout.inner_text())
        assert value_after > value_before, f'{SLIDER} went from {value_before} to {value_after}'
        # The explorer's status names the input its figure shows, then the update's time: wait for the last value.
        expect(status).to_contain_text(
            re.compile(rf'at {re.escape(SLIDER)} {value_after:.2f},[\s\S]*\(\d+ ms\)'),
            timeout=UPDATE_TIMEOUT * 1000,
        )
        moved_at = time.perf_counter()
        while True:  # the image may come a moment after the status
            changed = _pixels_changed(image_before, _shown_image(figure))
            if changed or time.perf_counter() - moved_at > 10:
                break
            time.sleep(0.25)
        timings['slider moved, figure redrawn'] = time.perf_counter() - start
        status_after = status.inner_text()
        figure.scroll_into_view_if_needed()
        page.screenshot(path=shots['2-after'], full_page=True)
        figure.screenshot(path=shots['explorer-figure-after'])

        assert figure.get_attribute('src') != src_before, 'the image widget was not updated'
        assert image_before.size == _shown_image(figure).size, 'the figure changed size'
        assert changed > 100, f'the figure did not change ({changed} pixels differ)'
        assert status_after != status_before
        # Both explorers fit the window: nothing of them beyond its right edge, no horizontal scroll bar.
        for name, box in (('FixedPointExplorer', explorer), ('TrialExplorer', trials)):
            box.scroll_into_view_if_needed()
            fit = box.evaluate(FITS)
            assert fit['right'] <= VIEWPORT['width'] and not fit['scrolls'], (
                f'{name} does not fit: {fit}'
            )
        # The explorer started at 0.3 (9 points), its value typed as 0: one move on which 18 points are
        # born in folds it has not seen. It shows what it followed at once; the search runs in the
        # kernel's background thread, which shows the 27 points when it ends.
        born = (
            page.locator('.widget-hbox')
            .filter(has=label)
            .filter(has=page.locator('img.widget-image'))
            .nth(1)
        )
        born_status = born.locator('.widget-html-content')
        born.scroll_into_view_if_needed()
        expect(born_status).to_contain_text('9 points', timeout=UPDATE_TIMEOUT * 1000)
        born_readout = born.locator('.widget-slider').filter(has=label).locator('.widget-readout')
        born_readout.click()
        page.keyboard.press('Control+A')
        page.keyboard.type('0')
        page.keyboard.press('Enter')
        expect(born_status).to_contain_text(
            re.compile(r'27 points[\s\S]*searched in the background'), timeout=UPDATE_TIMEOUT * 1000
        )
        timings['points born at 0 searched in the background'] = time.perf_counter() - start
        born_status_after = born_status.inner_text()
        errors = _errors(page)
        assert not errors, 'a cell shows an error:\n' + '\n---\n'.join(errors)
    except BaseException:
        try:
            page.screenshot(path=shots['failure'], full_page=True)
        except Exception:
            pass
        print(
            f'\nfailure screenshot: {shots["failure"]}\nbrowser console:\n'
            + '\n'.join(console[-30:])
        )
        raise
    print(
        f'\n{SLIDER}: {value_before:.2f} -> {value_after:.2f} ({PRESSES} x ArrowRight), {changed} of the '
        f'{image_before.width}x{image_before.height} pixels of the figure changed'
    )
    print(f'explorer status before: {status_before}\nexplorer status after:  {status_after}')
    print(f'explorer started at 0.3, moved to 0: {born_status_after}')
    print(
        'times since the page was opened: '
        + ', '.join(f'{k} {v:.1f} s' for k, v in timings.items())
    )
    print('screenshots:\n' + '\n'.join(f'  {p}' for k, p in shots.items() if k != 'failure'))
    if console:
        print(
            f'browser console ({len(console)} errors/warnings), last ones:\n'
            + '\n'.join(console[-10:])
        )
