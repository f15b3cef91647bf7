"""Run a student's notebook under bubblewrap, with hard limits, and bring back its outputs.

nbgrader's stock ``Execute`` runs the student's kernel with the instructor's rights. Here
the notebook that nbgrader has already prepared (outputs cleared, test cells restored) is
executed by :mod:`actlab.grading._kernel_runner` *inside* a bubblewrap sandbox, and only
the per-cell outputs come back. nbgrader's trusted bookkeeping (gradebook, scores) stays
outside. What the sandbox guarantees, each proven in ``tests/test_sandbox.py``:

* no network (``--unshare-net``; only a private loopback for the kernel's ZMQ sockets);
* a read-only system: ``/usr``, the Python installation, the venv and the ``actlab``
  package are bound read-only; nothing else of the host is visible -- not ``solutions/``,
  not the gradebook, not other students' folders, not the instructor's home;
* the only writable places are size-capped tmpfs mounts (working folder, ``/tmp``), which
  vanish with the sandbox, so a student cannot plant files in the grading folders;
* an unprivileged uid (``setpriv``; root ignores ``RLIMIT_NPROC``), chosen per run, and
  rlimits on address space, processes, file size and CPU seconds; where cgroup v1 is
  writable, a memory cgroup and a pids cgroup bound the whole tree as well;
* a per-cell timeout (SIGINT, then SIGKILL of the kernel after a short grace period) and a
  whole-notebook limit; at the end the whole process tree is killed (``--unshare-pid`` +
  ``--die-with-parent`` + SIGKILL of the process group and of the cgroups), so a loop that
  ignores SIGINT still dies.

The outcome goes into ``nb.metadata["actlab"]["sandbox"]`` (and ``resources["actlab"]
["sandbox"]``) as ``{"status": "ok"|"timed_out"|"killed_memory"|"crashed", "detail": str,
"seconds": float}``.

Note to the grading engine (engineer G): nbgrader's ``ClearMetadataPreprocessor`` runs
after ``Execute`` in ``Autograde`` and clears notebook metadata; either read the outcome
from ``resources["actlab"]["sandbox"]`` or add ``("actlab",)`` to
``ClearMetadataPreprocessor.preserve_nb_metadata_mask``.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
from traitlets import Bool, Float, Integer

from nbgrader.preprocessors import NbGraderPreprocessor

BWRAP = "/usr/bin/bwrap"
SETPRIV = "/usr/bin/setpriv"
PRLIMIT = "/usr/bin/prlimit"

GiB = 1024**3
MiB = 1024**2

INSTALL_HINT = (
    "bubblewrap (with util-linux's setpriv and prlimit) is not installed, so student notebooks cannot be run in a sandbox. "
    "Install it (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: `dnf install bubblewrap`) "
    "or, only for notebooks you trust, pass --no-sandbox."
)

NO_SANDBOX_WARNING = (
    "WARNING: --no-sandbox: student code will run with YOUR rights. It can read solutions/ "
    "and the gradebook, write anywhere you can, use the network and exhaust memory. "
    "Only do this for notebooks you trust."
)

# How long the sandbox may take, beyond the notebook's own limit, to start the kernel and
# to hand back its result before the trusted side kills it.
STARTUP_GRACE_SECONDS = 60.0
# The result (all outputs as JSON) is read with this cap; the runner truncates outputs
# long before that, so exceeding it means something is wrong.
MAX_RESULT_BYTES = 256 * MiB
SMALL_TMPFS = 64 * MiB
# Files from the submission folder copied into the sandbox (data files, helper modules).
MAX_COPIED_BYTES = 64 * MiB

STATUSES = ("ok", "timed_out", "killed_memory", "crashed")


class SandboxUnavailableError(RuntimeError):
    """Raised when grading needs bubblewrap and it is missing."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed notebook run.

    memory_bytes: RLIMIT_AS of each process, and the memory cgroup cap of the whole tree.
    processes: RLIMIT_NPROC of the sandbox uid (threads count), and the pids cgroup cap.
    file_size_bytes: RLIMIT_FSIZE (largest file any process may write).
    cpu_seconds: RLIMIT_CPU per process.
    cell_timeout: wall seconds per cell before the kernel is killed.
    notebook_timeout: wall seconds for the whole notebook.
    disk_bytes: size of the writable tmpfs working folder (and of /tmp).
    """

    memory_bytes: int = 3 * GiB
    processes: int = 128
    file_size_bytes: int = 64 * MiB
    cpu_seconds: int = 600
    cell_timeout: float = 120.0
    notebook_timeout: float = 600.0
    disk_bytes: int = 256 * MiB

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not value or value <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {value!r}")


def bwrap_available() -> bool:
    """True when bubblewrap exists and can actually create a sandbox here."""
    if not all(os.access(tool, os.X_OK) for tool in (BWRAP, SETPRIV, PRLIMIT)):
        return False
    try:
        probe = subprocess.run(
            [BWRAP, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--dev", "/dev",
             "--proc", "/proc", "/bin/true"],
            capture_output=True, timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def require_sandbox(no_sandbox: bool) -> bool:
    """Decide whether grading runs sandboxed; for ``actlab grade``.

    Returns True when the sandbox will be used. With ``no_sandbox=True`` prints a loud
    warning to stderr and returns False. Raises :class:`SandboxUnavailableError` (message
    with an install hint) when bubblewrap is unusable and ``no_sandbox`` is False.
    """
    if no_sandbox:
        print(NO_SANDBOX_WARNING, file=sys.stderr, flush=True)
        warnings.warn(NO_SANDBOX_WARNING, RuntimeWarning, stacklevel=2)
        return False
    if not bwrap_available():
        raise SandboxUnavailableError(INSTALL_HINT)
    return True


# ---------------------------------------------------------------------------------------
# cgroup v1 (best effort): bounds the memory and process count of the whole tree.


class _CGroups:
    ROOT = Path("/sys/fs/cgroup")

    def __init__(self, limits: Limits):
        self.paths: dict[str, Path] = {}
        name = f"actlab-{os.getpid()}-{secrets.token_hex(4)}"
        for controller in ("memory", "pids"):
            base = self.ROOT / controller
            if not (base.is_dir() and os.access(base, os.W_OK)):
                continue
            path = base / name
            try:
                path.mkdir()
                if controller == "memory":
                    (path / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
                    swap = path / "memory.memsw.limit_in_bytes"
                    if swap.exists():
                        swap.write_text(str(limits.memory_bytes))
                else:
                    (path / "pids.max").write_text(str(limits.processes))
            except OSError:
                self._remove(path)
                continue
            self.paths[controller] = path

    def join_command(self) -> str:
        """Shell words that move the shell itself (``$$``) into every cgroup."""
        return "".join(f"echo $$ > {shlex.quote(str(path / 'cgroup.procs'))} && "
                       for path in self.paths.values())

    def oom_killed(self) -> bool:
        path = self.paths.get("memory")
        if path is None:
            return False
        try:
            for line in (path / "memory.oom_control").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            pass
        return False

    def kill_all(self) -> None:
        for _ in range(50):
            pids: set[int] = set()
            for path in self.paths.values():
                try:
                    pids |= {int(p) for p in (path / "cgroup.procs").read_text().split()}
                except OSError:
                    pass
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    @staticmethod
    def _remove(path: Path) -> None:
        for _ in range(50):
            try:
                path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)

    def remove(self) -> None:
        self.kill_all()
        for path in self.paths.values():
            self._remove(path)


# ---------------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_stale() -> None:
    """Remove cgroups and scratch folders left by a grader that was killed mid-run.

    Their names carry the owner's pid; the sandboxed processes themselves are already gone
    (``--die-with-parent``), only the empty folders stay behind."""
    candidates = [p for c in ("memory", "pids") for p in (_CGroups.ROOT / c).glob("actlab-*-*")]
    candidates += list(Path(tempfile.gettempdir()).glob("actlab-sandbox-*-*"))
    for path in candidates:
        try:
            pid = int(path.name.split("-")[-2])
        except (ValueError, IndexError):
            continue
        if _pid_alive(pid):
            continue
        if path.parent.parent == _CGroups.ROOT:
            _CGroups._remove(path)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _sandbox_uid() -> int:
    # A fresh unprivileged uid per run: RLIMIT_NPROC counts per uid across the machine,
    # so two concurrent sandboxes must not share (or exhaust) one budget.
    return 200_000 + secrets.randbelow(800_000)


def _python_roots() -> list[str]:
    import actlab

    roots = {os.path.realpath(sys.base_prefix), os.path.abspath(sys.prefix),
             os.path.dirname(os.path.abspath(actlab.__file__))}
    # The venv's interpreter may be a symlink into another installation (pyenv).
    roots.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    return sorted(roots)


def _system_binds() -> list[str]:
    args: list[str] = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "lib32", "sbin"):
        host = f"/{name}"
        if os.path.islink(host):
            args += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            args += ["--ro-bind", host, host]
    for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/nsswitch.conf",
                "/etc/hosts", "/etc/fonts", "/etc/alternatives", "/etc/mime.types"):
        args += ["--ro-bind-try", etc, etc]
    return args


def _parent_dirs(targets: list[str]) -> list[str]:
    """``--dir`` for every ancestor of the mount points, world-traversable.

    bwrap creates missing parents with mode 0700 (root only), which the unprivileged
    sandbox uid could not traverse."""
    seen: set[str] = set()
    args: list[str] = []
    for target in targets:
        parts = Path(target).parts[1:-1]
        for depth in range(1, len(parts) + 1):
            ancestor = "/" + "/".join(parts[:depth])
            if ancestor in seen or ancestor in ("/usr", "/tmp", "/proc", "/dev"):
                continue
            seen.add(ancestor)
            args += ["--perms", "0755", "--dir", ancestor]
    return args


def _copy_submission_files(src: str | None, dst: Path) -> None:
    """Copy regular files (no symlinks, no notebooks) from the submission folder."""
    dst.mkdir(mode=0o755)
    if not src or not os.path.isdir(src):
        return
    budget = MAX_COPIED_BYTES
    for root, dirs, files in os.walk(src, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(root, d))]
        rel = os.path.relpath(root, src)
        target_dir = dst / rel if rel != "." else dst
        target_dir.mkdir(mode=0o755, exist_ok=True)
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path) or name.endswith(".ipynb"):
                continue
            size = os.path.getsize(path)
            if size > budget:
                continue
            budget -= size
            shutil.copyfile(path, target_dir / name)
            os.chmod(target_dir / name, 0o644)


def _bwrap_command(scratch: Path, limits: Limits, uid: int, result_fd: int) -> list[str]:
    home = "/home/student"
    work = f"{home}/work"
    args = [
        BWRAP,
        "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session",
        "--hostname", "sandbox",
        *_system_binds(),
        "--proc", "/proc",
        "--dev", "/dev",
        *_parent_dirs([home]),
        # tmpfs lives in RAM: /tmp and home (caches, kernel runtime files) stay small.
        "--perms", "1777", "--size", str(min(limits.disk_bytes, SMALL_TMPFS)), "--tmpfs", "/tmp",
        "--perms", "1777", "--size", str(min(limits.disk_bytes, SMALL_TMPFS)), "--tmpfs", home,
        "--perms", "1777", "--size", str(limits.disk_bytes), "--tmpfs", work,
        # After the /tmp tmpfs: a course checked out under /tmp (as CI's clone may be) needs its
        # ancestors created inside that tmpfs, traversable by the sandbox uid.
        *_parent_dirs(_python_roots()),
        "--ro-bind", str(scratch / "submission"), f"{home}/.submission",
        "--ro-bind", str(scratch / "passwd"), "/etc/passwd",
        "--ro-bind", str(scratch / "group"), "/etc/group",
    ]
    for root in _python_roots():
        args += ["--ro-bind", root, root]
    args += [
        "--chdir", work,
        SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
        sys.executable, "-m", "actlab.grading._kernel_runner",
        "-", str(result_fd), str(limits.cell_timeout), str(limits.notebook_timeout),
        f"{home}/.submission",
    ]
    return args


def _plain_command(scratch: Path, limits: Limits, result_fd: int) -> list[str]:
    return [
        sys.executable, "-m", "actlab.grading._kernel_runner",
        "-", str(result_fd), str(limits.cell_timeout), str(limits.notebook_timeout),
        str(scratch / "submission"),
    ]


def _child_env(home: str) -> dict[str, str]:
    env = {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime",
        "JUPYTER_DATA_DIR": "/tmp/jupyter-data",
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": "/tmp/ipython",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "MPLBACKEND": "Agg",
        "XDG_CACHE_HOME": "/tmp/cache",
        # Threads count against RLIMIT_NPROC; one BLAS thread keeps numpy within budget.
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TQDM_DISABLE": "1",
    }
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        env["VIRTUAL_ENV"] = venv
    return env


def _limited(command: list[str], limits: Limits, cgroups: "_CGroups | None") -> list[str]:
    """``command`` behind prlimit (rlimits inherited by the whole tree) and cgroup entry."""
    prlimit = [
        PRLIMIT,
        f"--as={limits.memory_bytes}",
        f"--nproc={limits.processes}",
        f"--fsize={limits.file_size_bytes}",
        f"--cpu={int(limits.cpu_seconds)}",
        "--core=0",
        "--",
    ]
    if not os.access(PRLIMIT, os.X_OK):  # only reachable with --no-sandbox
        return command
    join = cgroups.join_command() if cgroups is not None else ""
    return ["/bin/sh", "-c", join + "exec " + shlex.join(prlimit + command)]


def _error_output(ename: str, evalue: str) -> dict:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[f"{ename}: {evalue}"])


def _read_capped(fd: int, cap: int, sink: list) -> None:
    chunks, total = [], 0
    with os.fdopen(fd, "rb") as stream:
        while True:
            block = stream.read(1 << 20)
            if not block:
                break
            total += len(block)
            if total > cap:
                sink.append(None)
                return
            chunks.append(block)
    sink.append(b"".join(chunks))


def _write_stdin(proc: subprocess.Popen, data: bytes) -> None:
    try:
        proc.stdin.write(data)
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass


def _kill_tree(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass


def execute_notebook(nb, workdir: str | None = None, limits: Limits | None = None,
                     sandbox: bool = True):
    """Execute ``nb`` (an nbformat v4 NotebookNode) in the sandbox.

    ``workdir``: the submission folder whose non-notebook files the notebook may read.
    Returns ``(executed_nb, outcome)``: a copy of ``nb`` whose code cells carry the outputs
    the kernel produced (cells that never ran carry an error output, so nbgrader cannot
    score them as passed), and the outcome dict (status, detail, seconds).
    ``sandbox=False`` runs the same runner without bubblewrap (``--no-sandbox``).
    """
    limits = limits or Limits()
    start = time.monotonic()
    out_nb = copy.deepcopy(nb)
    for cell in out_nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    payload = nbformat.writes(out_nb).encode("utf-8")

    _sweep_stale()
    scratch = Path(tempfile.mkdtemp(prefix=f"actlab-sandbox-{os.getpid()}-"))
    os.chmod(scratch, 0o755)
    cgroups = _CGroups(limits) if sandbox else None
    result_sink: list = []
    timed_out_hard = False
    stderr_tail = ""
    try:
        _copy_submission_files(workdir, scratch / "submission")
        read_fd, write_fd = os.pipe()
        uid = _sandbox_uid()
        # A passwd/group that knows only the student: no host accounts leak in.
        (scratch / "passwd").write_text(f"student:x:{uid}:{uid}:student:/home/student:/bin/false\n")
        (scratch / "group").write_text(f"student:x:{uid}:\n")
        for name in ("passwd", "group"):
            os.chmod(scratch / name, 0o644)
        if sandbox:
            command = _bwrap_command(scratch, limits, uid, write_fd)
            env = _child_env("/home/student")
        else:
            command = _plain_command(scratch, limits, write_fd)
            env = _child_env(str(scratch))
            env["PATH"] = os.environ.get("PATH", env["PATH"])

        # Limits and cgroup membership are set by a small shell + prlimit in front of the
        # command, not by preexec_fn, which is unsafe when the caller has threads (a
        # Dask worker does).
        command = _limited(command, limits, cgroups)

        stderr_path = scratch / "stderr.txt"
        with open(stderr_path, "wb") as stderr_file:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr_file,
                env=env,
                cwd=str(scratch / "submission") if not sandbox else "/",
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        os.close(write_fd)
        feeder = threading.Thread(target=_write_stdin, args=(proc, payload), daemon=True)
        reader = threading.Thread(target=_read_capped, args=(read_fd, MAX_RESULT_BYTES, result_sink),
                                  daemon=True)
        feeder.start()
        reader.start()
        hard_limit = limits.notebook_timeout + STARTUP_GRACE_SECONDS
        try:
            proc.wait(timeout=hard_limit)
        except subprocess.TimeoutExpired:
            timed_out_hard = True
        _kill_tree(proc)
        if cgroups is not None:
            cgroups.kill_all()
        proc.wait()
        reader.join(timeout=30)
        try:
            stderr_tail = stderr_path.read_bytes()[-2000:].decode("utf-8", "replace")
        except OSError:
            stderr_tail = ""
        oom = cgroups.oom_killed() if cgroups is not None else False
    finally:
        if cgroups is not None:
            cgroups.remove()
        shutil.rmtree(scratch, ignore_errors=True)

    result = None
    raw = result_sink[0] if result_sink else None
    if raw:
        try:
            result = json.loads(raw)
        except ValueError:
            result = None
    if timed_out_hard:
        status, detail = "timed_out", f"sandbox killed after {hard_limit:.0f} s (whole-notebook limit)"
        result = None
    elif result is None:
        status = "killed_memory" if oom else "crashed"
        detail = "the sandbox returned no result" + (" (memory cgroup OOM kill)" if oom else "")
        if stderr_tail.strip():
            detail += ": " + stderr_tail.strip().splitlines()[-1][:300]
    else:
        status = result.get("status") if result.get("status") in STATUSES else "crashed"
        detail = str(result.get("detail", ""))[:2000]
        if status == "crashed" and oom:
            status, detail = "killed_memory", detail + " (memory cgroup OOM kill)"

    cells = (result or {}).get("cells", {}) if isinstance(result, dict) else {}
    for index, cell in enumerate(out_nb.cells):
        if cell.cell_type != "code":
            continue
        got = cells.get(str(index)) if isinstance(cells, dict) else None
        if isinstance(got, dict) and isinstance(got.get("outputs"), list):
            cell.outputs = [nbformat.from_dict(o) for o in got["outputs"]]
            count = got.get("execution_count")
            cell.execution_count = count if isinstance(count, int) else None
        else:
            cell.outputs = [_error_output("NotRunError", f"not run: {detail or status}")]
    try:
        nbformat.validate(out_nb)
    except nbformat.ValidationError as exc:
        # Malformed outputs: keep nothing the kernel said, fail every code cell.
        status, detail = "crashed", f"invalid outputs from the kernel: {str(exc)[:200]}"
        for cell in out_nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [_error_output("InvalidOutputError", detail)]
                cell.execution_count = None
    outcome = {"status": status, "detail": detail, "seconds": round(time.monotonic() - start, 3)}
    out_nb.metadata.setdefault("actlab", {})["sandbox"] = outcome
    return out_nb, outcome


class SandboxedExecute(NbGraderPreprocessor):
    """Drop-in replacement for nbgrader's ``Execute`` that runs the kernel in the sandbox.

    Use in ``Autograde.autograde_preprocessors`` in place of
    ``nbgrader.preprocessors.Execute``. Limits are traits (configurable as
    ``c.SandboxedExecute.cell_timeout = 30`` etc.) or can be passed as ``limits=Limits(...)``.
    """

    use_sandbox = Bool(True, help="Run under bubblewrap; False only for --no-sandbox.").tag(config=True)
    cell_timeout = Float(Limits.cell_timeout, help="Wall seconds per cell.").tag(config=True)
    notebook_timeout = Float(Limits.notebook_timeout, help="Wall seconds per notebook.").tag(config=True)
    memory_bytes = Integer(Limits.memory_bytes, help="Address-space cap per process.").tag(config=True)
    processes = Integer(Limits.processes, help="Process/thread cap.").tag(config=True)
    file_size_bytes = Integer(Limits.file_size_bytes, help="Largest writable file.").tag(config=True)
    cpu_seconds = Integer(Limits.cpu_seconds, help="CPU seconds per process.").tag(config=True)
    disk_bytes = Integer(Limits.disk_bytes, help="Size of the writable tmpfs.").tag(config=True)

    def __init__(self, *args, limits: Limits | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # A course that only sets nbgrader's own per-cell timeout keeps that meaning here.
        own, stock = self.config.get("SandboxedExecute", {}), self.config.get("Execute", {})
        if "cell_timeout" not in own and "timeout" in stock and stock["timeout"]:
            self.cell_timeout = float(stock["timeout"])
        if limits is not None:
            for name, value in asdict(limits).items():
                setattr(self, name, value)

    @property
    def limits(self) -> Limits:
        return Limits(memory_bytes=self.memory_bytes, processes=self.processes,
                      file_size_bytes=self.file_size_bytes, cpu_seconds=self.cpu_seconds,
                      cell_timeout=self.cell_timeout, notebook_timeout=self.notebook_timeout,
                      disk_bytes=self.disk_bytes)

    def preprocess(self, nb, resources):
        workdir = (resources or {}).get("metadata", {}).get("path")
        out_nb, outcome = execute_notebook(nb, workdir, self.limits, sandbox=self.use_sandbox)
        resources.setdefault("actlab", {})["sandbox"] = outcome
        if outcome["status"] != "ok":
            self.log.warning("sandbox: %s (%s)", outcome["status"], outcome["detail"])
        return out_nb, resources
