"""Drive JupyterLab in headless Chromium with Playwright: the machinery of the browser tests.

    with jupyterlab(root, home) as lab:                   # a server on 127.0.0.1, no token
        browser = launch_chromium(playwright, path)       # the system's Chromium, no download
        nb = OpenNotebook(browser, lab, "02_filters.ipynb")
        nb.start_run_all(); nb.wait_run_all()
        for area in nb.explorers(): ...                   # each widget's output area
            for i, control in enumerate(controls(area)): move(area, control); ...

Nothing is downloaded: Playwright drives the Chromium found on the machine
(``find_chromium``), with flags that keep it off the network. JupyterLab runs from this Python
(``sys.executable -m jupyterlab``) with its config, data and runtime folders in ``home``, so no
user setting leaks in; the settings written there turn off the news toast, autosave and the
notebook's windowing (which would drop off-screen cells from the page).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Chromium flags: no sandbox (containers, root), no GPU, and no traffic of its own.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
#: JupyterLab user settings for the tests: no news toast, no autosave, every cell in the page.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
#: The kinds of control a student moves, by the CSS class ipywidgets 8 gives their views.
CONTROL_KINDS = {
    "select": "widget-dropdown",
    "toggle": "widget-toggle-buttons",
    "slider": "widget-slider",
    "checkbox": "widget-checkbox",
    "text": "widget-text",
    "textarea": "widget-textarea",
}
CONTROL_SELECTOR = ", ".join(f".{cls}" for cls in CONTROL_KINDS.values())
#: Seconds a picture may take to change once the kernel has handled a move (it is sent before
#: the kernel reports idle; this only covers the page's own drawing).
GRACE_S = 3.0
#: Lines the tests add (timings, where the screenshots are), printed at the end of the run.
REPORT: list[str] = []


def find_chromium() -> str | None:
    """``$COURSECNN_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on PATH, else None."""
    env = os.environ.get("COURSECNN_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def launch_chromium(playwright: Any, path: str) -> Any:
    """Headless Chromium from ``path`` (never a Playwright download)."""
    return playwright.chromium.launch(
        executable_path=path, headless=True, args=list(CHROMIUM_FLAGS), timeout=120_000
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab: its URL, the folder it serves and its log."""

    url: str
    root: Path
    log: Path

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def lab_env(home: Path) -> dict[str, str]:
    """The server's environment: Jupyter's folders in ``home``, the kernels drawing inline."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "MPLBACKEND",  # set for the unit tests; the kernels must draw inline (notebook 00)
            "JUPYTER_PATH",
            "JUPYTER_CONFIG_PATH",
            "JUPYTERLAB_SETTINGS_DIR",
            "JUPYTERLAB_WORKSPACES_DIR",
        }
    }
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "config" / "lab" / "user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        IPYTHONDIR=str(home / "ipython"),
        PYTHONHASHSEED=os.environ.get("PYTHONHASHSEED", "0"),
    )
    return env


def write_settings(home: Path) -> None:
    for plugin, values in LAB_SETTINGS.items():
        path = home / "config" / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


@contextlib.contextmanager
def jupyterlab(root: Path, home: Path, startup_s: float = 120) -> Iterator[Lab]:
    """JupyterLab serving ``root`` on 127.0.0.1 (a free port, no token); stopped afterwards."""
    home.mkdir(parents=True, exist_ok=True)
    write_settings(home)
    port = free_port()
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--port-retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
        "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")  # containers and CI machines often run as root
    log = home / "jupyterlab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd,
            env=lab_env(home),
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    lab = Lab(f"http://127.0.0.1:{port}", root, log)
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({proc.returncode}):\n{lab.log_tail()}")
            try:
                with urllib.request.urlopen(f"{lab.url}/api/status", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"JupyterLab did not answer on {lab.url} in {startup_s:g} s:\n"
                        + lab.log_tail()
                    ) from None
                time.sleep(0.5)
        yield lab
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and its kernels
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# ------------------------------------------------------------------------------ in the page

_KERNEL_STATUS = (
    "() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status"
)

_TRACK_COMMS = """() => {
    // Widget messages the page sends to the kernel, and the messages the kernel has finished
    // (it reports idle with that message as parent).
    window.__sent = [];
    window.__done = new Set();
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    kernel.anyMessage.connect((_, args) => {
        const m = args.msg;
        if (args.direction === 'send' && m.header.msg_type === 'comm_msg') {
            window.__sent.push(m.header.msg_id);
        } else if (args.direction === 'recv' && m.channel === 'iopub'
                   && m.header.msg_type === 'status' && m.content.execution_state === 'idle') {
            window.__done.add(m.parent_header.msg_id);
        }
    });
}"""

_CELLS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const cells = panel.content.model.cells;
    const out = [];
    for (let i = 0; i < cells.length; i++) {
        const c = cells.get(i);
        if (c.type !== 'code') continue;
        const outputs = c.outputs.toJSON();
        out.push({
            index: i,
            count: c.executionCount,
            errors: outputs.filter(o => o.output_type === 'error')
                .map(o => ({ename: o.ename, evalue: o.evalue, traceback: o.traceback})),
        });
    }
    return out;
}"""

_SNAPSHOT = """async (el) => {
    const imgs = [...el.querySelectorAll('img')];
    const digests = [];
    for (const img of imgs) {
        if (!img.src) { digests.push(''); continue; }
        try {
            const buf = await (await fetch(img.src)).arrayBuffer();
            const h = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
            digests.push([...h].slice(0, 12).map(b => b.toString(16).padStart(2, '0')).join(''));
        } catch (e) { digests.push(''); }  // a blob URL revoked as a new picture came in
    }
    await Promise.all(imgs.map(i => i.decode().catch(() => null)));
    const readout = [...el.querySelectorAll('.widget-html')].map(e => e.innerText).join('\\n');
    return {srcs: imgs.map(i => i.src), digests, readout};
}"""

_CONTROLS = """(el, arg) => {
    const [selector, kinds] = arg;
    return [...el.querySelectorAll(selector)].map((c, i) => {
        const kind = Object.keys(kinds).find(k => c.classList.contains(kinds[k]));
        const clean = t => (t || '').replace(/\\u200b/g, '').trim();
        // a checkbox shows its description beside the box, not in its .widget-label
        const label = clean(c.querySelector('.widget-label')?.innerText)
            || (kind === 'checkbox' ? clean(c.innerText) : '');
        const disabled = !!c.querySelector('[disabled]') || c.hasAttribute('disabled');
        return {index: i, kind, label, disabled};
    });
}"""

_UNKNOWN = """(el, selector) => {
    const known = [...el.querySelectorAll(selector)];
    return [...el.querySelectorAll('input, select, textarea, button, .noUi-handle')]
        .filter(x => !known.some(c => c.contains(x)))
        .map(x => `${x.tagName.toLowerCase()}.${[...x.classList].join('.')}`
                  + ` in ${[...x.parentElement.classList].join('.')}`);
}"""


@dataclass
class Snapshot:
    """What a student sees of a widget: its pictures (``src`` and a digest of their bytes), and
    the text of its HTML readouts."""

    srcs: list[str]
    digests: list[str]
    readout: str

    @property
    def complete(self) -> bool:
        return bool(self.digests) and all(self.digests)


@dataclass
class Control:
    index: int  # among the widget's controls, in page order
    kind: str
    label: str
    disabled: bool

    @property
    def name(self) -> str:
        return f"{self.kind} {self.label!r}" if self.label else f"{self.kind} #{self.index}"


class OpenNotebook:
    """One notebook open in its own tab (and JupyterLab workspace)."""

    def __init__(self, browser: Any, lab: Lab, path: str, timeout_s: float = 600):
        """Open ``path`` (relative to the lab's root); ``ready`` waits for its kernel."""
        self.path = path
        self.opened = time.monotonic()
        self.opened_s = self.run_s = 0.0
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.set_default_timeout(timeout_s * 1000)
        workspace = "".join(ch if ch.isalnum() else "-" for ch in path)
        self.page.goto(
            f"{lab.url}/lab/workspaces/{workspace}/tree/{path}?reset", wait_until="commit"
        )

    def ready(self) -> None:
        """Until the notebook is shown and its kernel idle; ``opened_s`` says how long it took."""
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
        self.wait_idle()
        self.opened_s = time.monotonic() - self.opened
        self.page.evaluate(_TRACK_COMMS)

    def wait_idle(self) -> None:
        """Until the kernel has started and is idle (the status bar says so too)."""
        self.page.wait_for_function(f"() => ({_KERNEL_STATUS})() === 'idle'", polling=250)
        self.page.wait_for_selector("#jp-main-statusbar >> text=Idle")

    def start_run_all(self) -> None:
        """Run > Run All Cells, without waiting (several notebooks can run at once)."""
        self.page.evaluate(
            """() => { window.__runAllStart = performance.now();
                       window.__runAll = window.jupyterapp.commands
                           .execute('notebook:run-all-cells')
                           .then(() => { window.__runAllEnd = performance.now(); }); }"""
        )

    def wait_run_all(self) -> None:
        """Until Run All has finished and the kernel is idle; ``run_s``: seconds it took."""
        seconds = self.page.evaluate(
            """async () => { await window.__runAll;  // resolves when the last cell has run
                             return (window.__runAllEnd - window.__runAllStart) / 1000; }"""
        )
        self.page.wait_for_function(
            """() => ![...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                       .some(p => p.textContent.includes('*'))""",
            polling=250,
        )
        self.wait_idle()
        self.run_s = seconds

    def sent(self) -> int:
        """How many widget messages the page has sent to the kernel so far."""
        return self.page.evaluate("() => window.__sent.length")

    def handled(self, since: int) -> bool:
        """Whether messages were sent after the first ``since`` and the kernel finished them all."""
        return self.page.evaluate(
            "(n) => window.__sent.length > n && window.__sent.slice(n)"
            ".every(id => window.__done.has(id))",
            since,
        )

    def cells(self) -> list[dict[str, Any]]:
        """Every code cell: its index among all cells, execution count and error outputs."""
        return self.page.evaluate(_CELLS)

    def widget_errors(self) -> int:
        return self.page.locator("text=Error displaying widget").count()

    def explorers(self) -> list[Any]:
        """The top-level output areas that hold a widget with at least one control."""
        areas = self.page.locator(
            ".jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output"
        ).filter(has=self.page.locator(".jupyter-widgets"))
        return [a for a in areas.all() if a.locator(CONTROL_SELECTOR).count()]

    def close(self) -> None:
        self.page.close()


def snapshot(area: Any) -> Snapshot:
    return Snapshot(**area.evaluate(_SNAPSHOT))


def controls(area: Any) -> list[Control]:
    """The widget's controls of the kinds in ``CONTROL_KINDS``, in page order."""
    return [Control(**c) for c in area.evaluate(_CONTROLS, [CONTROL_SELECTOR, CONTROL_KINDS])]


def unknown_controls(area: Any) -> list[str]:
    """Inputs, selects, buttons and slider handles outside every control ``controls`` finds: a
    kind of control this suite does not move yet (the tag and classes of each)."""
    return area.evaluate(_UNKNOWN, CONTROL_SELECTOR)


def move(area: Any, control: Control) -> str:
    """Move one control as a student would (keyboard or mouse); returns what was done."""
    el = area.locator(CONTROL_SELECTOR).nth(control.index)
    el.scroll_into_view_if_needed()
    if control.kind == "select":
        select = el.locator("select")
        values = select.locator("option").evaluate_all("os => os.map(o => o.value)")
        now = select.input_value()
        new = values[(values.index(now) + 1) % len(values)]
        select.select_option(value=new)
        return f"chose {new!r} (was {now!r})"
    if control.kind == "toggle":
        button = el.locator("button:not(.mod-active)").first
        text = button.inner_text().strip()
        button.click()
        return f"clicked {text!r}"
    if control.kind == "slider":
        handle = el.locator(".noUi-handle").first
        now, top = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemax"))
        key = "ArrowLeft" if now >= top else "ArrowRight"
        handle.focus()
        handle.press(key)
        return f"{key} from {now:g}"
    if control.kind == "checkbox":
        box = el.locator("input[type=checkbox]")
        was = box.is_checked()
        box.click()
        return f"{'un' if was else ''}ticked"
    if control.kind in ("text", "textarea"):
        field = el.locator("input, textarea").first
        now = field.input_value()
        try:
            new = f"{float(now) + 1:g}"
        except ValueError:
            new = now + "x"
        field.fill(new)
        field.press("Enter")
        field.blur()
        return f"typed {new!r} (was {now!r})"
    raise ValueError(f"control.kind: expected one of {list(CONTROL_KINDS)}, got {control.kind!r}")


def wait_for_change(
    nb: OpenNotebook, area: Any, before: Snapshot, sent: int, timeout_s: float = 120
) -> Snapshot | None:
    """The widget's state once its picture has changed and the kernel is idle again; None when
    the kernel has finished the messages the move sent (those after the first ``sent``) and the
    picture stayed the same for ``GRACE_S`` more, or when nothing changed in ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    handled_at = None
    while time.monotonic() < deadline:
        now = snapshot(area)
        if now.complete and now.digests != before.digests:
            nb.wait_idle()
            time.sleep(0.2)  # a last message from the kernel may still be on its way
            while not (now := snapshot(area)).complete and time.monotonic() < deadline:
                time.sleep(0.1)
            return now
        if handled_at is None and nb.handled(sent):
            handled_at = time.monotonic()
        if handled_at is not None and time.monotonic() - handled_at > GRACE_S:
            return None
        time.sleep(0.2)
    return None
