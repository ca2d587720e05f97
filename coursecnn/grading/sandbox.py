"""A sandbox per notebook: the student's kernel under Debian's ``bubblewrap``.

``bwrap`` (Linux namespaces) gives the kernel: no network (a network namespace of its own); the
system, the Python environment and the course package read-only, and nothing else of the host's
files (not the masters, other submissions, the output folder or the grader's home); writable
only a private ``tmpfs`` of capped size (``/tmp`` and the working folder); a PID namespace whose
processes all die with it; a new session (no terminal to inject into); an environment built from
an allow-list; a user namespace of its own, as ``nobody`` with no capabilities. The kernel itself
sets hard limits on memory, processes, file size and CPU time before the first cell
(:mod:`.kernel`). The process limit is a ``pids`` control group where the grader may make one
(:func:`pids_cgroup`; ``RLIMIT_NPROC`` does not bind root), else ``RLIMIT_NPROC``, set to what
the grader's user runs now plus ``Limits.processes``.

``mode="none"`` runs the same kernel without ``bwrap``: only inside a container that already
isolates one submission (Gradescope's), never on a machine with other students' work.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Environment variables the kernel may see (values from the grader's environment).
ENV_ALLOW = ("LANG", "LC_ALL", "PYTHONHASHSEED", "TZ")
ENV_PREFIX_ALLOW = ("COURSECNN_DATA",)
#: What the grader keeps of the notebook's output, and the most it reads before it stops keeping.
OUTPUT_KEEP = 64 << 10


@dataclass
class Limits:
    """Hard limits for one notebook's kernel (bytes, processes, seconds of CPU)."""

    memory: int = 12 << 30
    processes: int = 256
    file_size: int = 256 << 20
    cpu: int = 3600
    tmp_size: int = 1 << 30

    def for_kernel(self) -> dict[str, int]:
        # RLIMIT_NPROC counts every task of the user (threads included): what runs now, plus
        # the allowance (it does not bind root; a pids control group does, see pids_cgroup)
        return {"memory": self.memory, "processes": tasks_of_user() + self.processes,
                "file_size": self.file_size, "cpu": self.cpu}  # fmt: skip


def bwrap_usable() -> str:
    """Empty when ``bwrap`` can make a sandbox here, else why not (in words)."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (bwrap) is not installed (Debian: apt-get install bubblewrap)"
    cmd = [exe, "--unshare-all", "--unshare-user", "--die-with-parent", "--ro-bind", "/", "/",
           "--", "true"]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap could not start: {err}"
    if proc.returncode != 0:
        text = proc.stderr.decode("utf-8", "replace").strip()[:200]
        return f"bwrap cannot make namespaces here (user namespaces off?): {text}"
    return ""


def tasks_of_user(uid: int | None = None) -> int:
    """How many tasks (threads) the user ``uid`` (default: this one) runs now."""
    uid = os.getuid() if uid is None else uid
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("Uid", "").split()[:1] == [str(uid)]:
            total += int(fields.get("Threads", "1").strip() or 1)
    return total


def pids_cgroup(limit: int) -> Path | None:
    """A new control group that holds at most ``limit`` tasks (the ``pids`` controller, cgroup v1
    or v2), or None where this user cannot make one. ``RLIMIT_NPROC`` does not bind a process
    whose real user is root, even inside a user namespace: there, this is the process limit."""
    import uuid

    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        for stale in base.glob("coursecnn-*"):  # left by a grader that was killed: empty
            with contextlib.suppress(OSError):
                if time.time() - stale.stat().st_mtime > 3600:
                    stale.rmdir()
        group = base / f"coursecnn-{uuid.uuid4().hex[:12]}"
        try:
            group.mkdir()
        except OSError:
            continue
        try:
            (group / "pids.max").write_text(str(limit))
            return group
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
    return None


def _remove_cgroup(group: Path) -> None:
    for _ in range(50):
        try:
            for pid in (group / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):
                    os.kill(int(pid), signal.SIGKILL)
            group.rmdir()
            return
        except OSError:
            time.sleep(0.05)


def _readable_roots() -> list[Path]:
    """What the kernel must read: the system, the Python installation, the environment, the
    package (its folder alone) and the course's data folder."""
    import coursecnn

    package = Path(coursecnn.__file__).resolve().parent
    roots = {Path(p) for p in ("/usr", "/etc", "/lib", "/lib64", "/bin", "/sbin", "/opt")}
    roots |= {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        roots.add(Path(sysconfig.get_paths()[key]).resolve())
    roots.add(package)
    data = package.parent / "data"
    if data.is_dir():
        roots.add(data)
    extra = os.environ.get("COURSECNN_DATA")
    if extra and Path(extra).is_dir():
        roots.add(Path(extra).resolve())
    keep = sorted(r for r in roots if r.exists())
    # a root inside another is mounted with it
    return [r for r in keep if not any(o != r and o in r.parents for o in keep)]


@dataclass
class Kernel:
    """A running sandboxed kernel: its process, the two channel pipes, and what it printed."""

    proc: subprocess.Popen
    requests: int  # write end
    answers: int  # read end
    status: int | None  # bwrap's JSON status, read end
    home: Path
    output: bytearray = field(default_factory=bytearray)
    output_total: int = 0
    pid_namespace: int | None = None
    cgroup: Path | None = None  # the pids control group that holds the sandbox, if any
    kernel_ns_pid: int | None = None  # the kernel's pid inside its namespace (it says so)
    _reader: threading.Thread | None = None

    def read_output(self, stream) -> None:
        while True:
            chunk = stream.read(65536)
            if not chunk:
                return
            self.output_total += len(chunk)
            room = OUTPUT_KEEP - len(self.output)
            if room > 0:
                self.output += chunk[:room]

    def namespace_pids(self) -> list[int]:
        """Host pids of every process in the sandbox's PID namespace (init and kernel too)."""
        if self.pid_namespace is None:
            return []
        want, pids = f"pid:[{self.pid_namespace}]", []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") == want:
                    pids.append(int(entry))
            except OSError:
                continue
        return pids

    def exit_status(self) -> int | None:
        """The kernel's exit code as bwrap reports it (128 + signal for a signal), or the
        process's own return code without bwrap; None when unknown."""
        if self.status is not None:
            buf = b""
            try:
                while chunk := os.read(self.status, 4096):
                    buf += chunk
            except OSError:
                pass
            os.close(self.status)
            self.status = None
            for line in buf.decode("utf-8", "replace").splitlines():
                try:
                    code = json.loads(line).get("exit-code")
                except (ValueError, AttributeError):
                    continue
                if isinstance(code, int):
                    return code
            return None
        return self.proc.returncode

    def leftover(self) -> int:
        """Processes in the sandbox besides its init and the kernel: what the notebook left."""
        inner = [_inner_pid(pid) for pid in self.namespace_pids()]
        return sum(1 for p in inner if p is not None and p not in (1, self.kernel_ns_pid))

    def interrupt(self) -> bool:
        """Send the kernel SIGINT (a ``KeyboardInterrupt`` in the cell that runs); False when
        the kernel's process cannot be found."""
        if self.pid_namespace is None:
            pid = self.proc.pid
        else:
            pid = next((p for p in self.namespace_pids() if _inner_pid(p) == self.kernel_ns_pid),
                       None)  # fmt: skip
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGINT)
        except OSError:
            return False
        return True

    def stop(self) -> None:
        """Kill the sandbox and everything in it (bwrap's init dies, the namespace with it)."""
        for pid in self.namespace_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for fd in (self.requests, self.answers):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self.cgroup is not None:
            _remove_cgroup(self.cgroup)
        shutil.rmtree(self.home, ignore_errors=True)


def start(files: list[Path], limits: Limits, threads: int, mode: str = "bwrap") -> Kernel:
    """Start the kernel for one notebook; ``files`` (the copy of the submission's data files)
    are visible read-only in its working folder."""
    home = Path(tempfile.mkdtemp(prefix="coursecnn-sandbox-"))
    req_r, req_w = os.pipe()
    ans_r, ans_w = os.pipe()
    env = {k: os.environ[k] for k in ENV_ALLOW if k in os.environ}
    env.update({k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX_ALLOW)})
    env.update(
        PATH="/usr/local/bin:/usr/bin:/bin",
        MPLBACKEND="Agg",
        COURSECNN_STATIC_OUTPUT="1",
        COURSECNN_THREADS=str(threads),
        OMP_NUM_THREADS=str(threads),
        COURSECNN_LIMITS=json.dumps(limits.for_kernel()),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED=os.environ.get("PYTHONHASHSEED", "0"),
        COURSECNN_CHANNEL_FD=str(ans_w),
    )
    env.setdefault("LANG", "C.UTF-8")
    import coursecnn

    package_parent = str(Path(coursecnn.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = package_parent
    kernel_cmd = [sys.executable, "-m", "coursecnn.grading.kernel"]
    status_r = None
    pass_fds = [ans_w]
    if mode == "bwrap":
        status_r, status_w = os.pipe()
        work = "/home/student/work"
        env.update(HOME="/home/student", TMPDIR="/tmp", MPLCONFIGDIR="/tmp/matplotlib")
        cmd = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--unshare-user",
               "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
               "--die-with-parent", "--new-session", "--clearenv"]  # fmt: skip
        # the private tmpfs first: a read-only root under /tmp (a course copied there) stays
        cmd += ["--size", str(limits.tmp_size), "--tmpfs", "/tmp",
                "--size", str(limits.tmp_size), "--tmpfs", "/home/student", "--dir", work]  # fmt: skip
        for root in _readable_roots():
            cmd += ["--ro-bind", str(root), str(root)]
        cmd += ["--proc", "/proc", "--dev", "/dev"]
        for entry in files:
            cmd += ["--ro-bind", str(entry), f"{work}/{entry.name}"]
        for k, v in env.items():
            cmd += ["--setenv", k, v]
        cmd += ["--chdir", work, "--json-status-fd", str(status_w), "--"]
        cmd += kernel_cmd
        pass_fds.append(status_w)
        cwd = None
        run_env = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    elif mode == "none":
        status_w = None
        (home / "work").mkdir()
        for entry in files:
            if entry.is_dir():
                shutil.copytree(entry, home / "work" / entry.name)
            else:
                shutil.copy2(entry, home / "work" / entry.name)
        env.update(HOME=str(home), TMPDIR=str(home), MPLCONFIGDIR=str(home / "matplotlib"))
        cmd, cwd, run_env = kernel_cmd, str(home / "work"), env
    else:
        raise ValueError(f"mode: expected 'bwrap' or 'none', got {mode!r}")

    group = None
    if mode == "bwrap":
        group = pids_cgroup(limits.processes)
        if group is not None:  # the shell joins the group, then becomes bwrap: all inherit it
            cmd = ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(group / "cgroup.procs"),
                   *cmd]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        stdin=req_r,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env=run_env,
        pass_fds=pass_fds,
        start_new_session=True,
    )
    os.close(req_r)
    os.close(ans_w)
    if status_w is not None:
        os.close(status_w)
    kernel = Kernel(proc, req_w, ans_r, status_r, home)
    kernel.cgroup = group
    kernel._reader = threading.Thread(target=kernel.read_output, args=(proc.stdout,), daemon=True)
    kernel._reader.start()
    if status_r is not None:
        kernel.pid_namespace = _read_namespace(status_r)
    return kernel


def _inner_pid(pid: int) -> int | None:
    """A host process's pid inside its innermost PID namespace (``NSpid``), or None."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((ln for ln in text.splitlines() if ln.startswith("NSpid:")), "")
    fields = line.split()[1:]
    return int(fields[-1]) if fields and fields[-1].isdigit() else None


def _read_namespace(fd: int) -> int | None:
    """bwrap's first status line names the namespaces it made; the PID namespace's inode."""
    buf = b""
    while b"}" not in buf:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
    try:
        first = json.loads(buf[: buf.index(b"}") + 1])
    except ValueError:
        return None
    ns = first.get("pid-namespace")
    return int(ns) if isinstance(ns, int) else None
