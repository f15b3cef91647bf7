"""Run a student's notebook under bubblewrap, with hard limits, and bring back its outputs.

nbgrader's stock ``Execute`` runs the student's kernel with the instructor's rights. Here
only the kernel of the notebook that nbgrader has already prepared (outputs cleared, test
cells restored) runs *inside* a bubblewrap sandbox; nbclient drives it from the grading
process over Unix sockets in a folder shared with the sandbox (:mod:`actlab.grading.executor`
explains the protocol and its caps), and nbgrader's trusted bookkeeping (gradebook, scores)
stays outside. What the sandbox guarantees, each proven in ``tests/test_sandbox.py``:

* no network (``--unshare-net``: the only interface is a private loopback; the kernel's
  ZMQ sockets are Unix sockets, not TCP);
* no view of the grader: a separate pid namespace; the socket folder is made read-only to
  the kernel before the first cell runs; the prepared notebook never enters the sandbox as
  a file, only cell by cell as execute requests, and its test cells not at all (they run in
  the judge, :mod:`actlab.grading.judge`);
* only the course modules the problem set allows (:mod:`actlab.guard`): a filtered copy of
  the ``actlab`` package is mounted over the real one;
* a read-only system: ``/usr``, the Python installation, the venv and the ``actlab``
  package are bound read-only; nothing else of the host is visible -- not ``solutions/``,
  not the gradebook, not other students' folders, not the instructor's home;
* the only writable places are size-capped tmpfs mounts (working folder, ``/tmp``), which
  vanish with the sandbox, so a student cannot plant files in the grading folders;
* an unprivileged uid (``setpriv``; root ignores ``RLIMIT_NPROC``), chosen per run, and
  rlimits on address space, processes, file size and CPU seconds; where cgroup v1 is
  writable, a memory cgroup and a pids cgroup bound the whole tree as well;
* a per-cell timeout (an interrupt request, then SIGKILL of the sandbox after a short grace period),
  a whole-notebook limit, and a watchdog that kills the sandbox if the trusted side itself is still
  waiting after that limit plus a start-up grace; at the end the whole process tree is killed
  (``--unshare-pid`` + ``--die-with-parent`` + SIGKILL of the process group and of the cgroups), so
  a loop that ignores SIGINT still dies.

The outcome goes into ``nb.metadata["actlab"]["sandbox"]`` (and ``resources["actlab"]
["sandbox"]``) as ``{"status": "ok"|"timed_out"|"killed_memory"|"crashed", "detail": str,
"seconds": float}``, plus ``"judge": {"restarts": int, "trusted_errors": list}`` when test
cells were judged.

Inside ``Autograde``, nbgrader's ``ClearMetadataPreprocessor`` runs after execution and
clears notebook metadata, so the grading job reads the outcome from ``resources``.
"""

from __future__ import annotations

import contextlib
import copy
import functools
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


BWRAP = "/usr/bin/bwrap"
SETPRIV = "/usr/bin/setpriv"
PRLIMIT = "/usr/bin/prlimit"

GiB = 1024**3
MiB = 1024**2

INSTALL_HINT = (
    "bubblewrap (with util-linux's setpriv and prlimit) is not installed, so student notebooks "
    "cannot be run in a sandbox. Install it (Debian/Ubuntu: `apt-get install bubblewrap`; "
    "Fedora: `dnf install bubblewrap`) or, only for notebooks you trust, pass --no-sandbox."
)

NO_SANDBOX_WARNING = (
    "WARNING: --no-sandbox: student code will run with YOUR rights. It can read solutions/ "
    "and the gradebook, write anywhere you can, use the network and exhaust memory. "
    "Only do this for notebooks you trust."
)

# How long the sandbox may take, beyond the notebook's own limit, to start the kernel and
# to hand back its result before the trusted side kills it.
STARTUP_GRACE_SECONDS = 60.0
SMALL_TMPFS = 64 * MiB
# Files from the submission folder copied into the sandbox (data files, helper modules).
MAX_COPIED_BYTES = 64 * MiB



class SandboxUnavailableError(RuntimeError):
    """Raised when grading needs bubblewrap and it is missing."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed notebook run.

    memory_bytes: RLIMIT_AS of each process, and the memory cgroup cap of the whole tree.
    processes: RLIMIT_NPROC of the sandbox uid (threads count), and the pids cgroup cap; not
        applied without the sandbox (the kernel then runs as the user, see :func:`_limited`).
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


def _package_dir() -> str:
    import actlab

    return os.path.dirname(os.path.abspath(actlab.__file__))


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
        dirs[:] = [d for d in dirs if not d.startswith(".")
                   and not os.path.islink(os.path.join(root, d))]
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


KERNEL = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
HOME = "/home/student"
WORK = f"{HOME}/work"


def _bwrap_command(scratch: Path, limits: Limits, uid: int, ipc_dir: Path, copy_files: bool,
                   package: Path | None = None) -> list[str]:
    """bwrap ... setpriv ... python -m ipykernel_launcher -f {connection_file}.

    ``package``: a filtered copy of the actlab package (:mod:`actlab.grading.allowlist`)
    mounted over the real one, so the kernel can import only the modules it allows."""
    args = [
        BWRAP,
        "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session",
        "--hostname", "sandbox",
        *_system_binds(),
        "--proc", "/proc",
        "--dev", "/dev",
        *_parent_dirs([HOME]),
        # tmpfs lives in RAM: /tmp and home (caches, kernel runtime files) stay small.
        "--perms", "1777", "--size", str(min(limits.disk_bytes, SMALL_TMPFS)), "--tmpfs", "/tmp",
        "--perms", "1777", "--size", str(min(limits.disk_bytes, SMALL_TMPFS)), "--tmpfs", HOME,
        "--perms", "1777", "--size", str(limits.disk_bytes), "--tmpfs", WORK,
        # After the /tmp tmpfs: a course checked out under /tmp (as CI's clone may be) needs its
        # ancestors created inside that tmpfs, traversable by the sandbox uid; so does the
        # socket folder, bound at its host path so the connection file means the same inside.
        *_parent_dirs(_python_roots() + [str(ipc_dir)]),
        "--bind", str(ipc_dir), str(ipc_dir),
        "--ro-bind", str(scratch / "submission"), f"{HOME}/.submission",
        "--ro-bind", str(scratch / "passwd"), "/etc/passwd",
        "--ro-bind", str(scratch / "group"), "/etc/group",
    ]
    for root in _python_roots():
        args += ["--ro-bind", root, root]
    if package is not None:
        args += ["--ro-bind", str(package), _package_dir()]
    args += [
        "--chdir", WORK,
        SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
    ]
    if copy_files:
        # Data files from the submission, copied so the notebook can read (and scribble on)
        # them in its own tmpfs working folder.
        args += ["/bin/sh", "-c", f'cp -R {HOME}/.submission/. . && exec "$@"', "copy-in"]
    return args + KERNEL


def _child_env(home: str, execution: str) -> dict[str, str]:
    env = {
        # nbgrader's signal to a notebook that it runs for grading ('autograde') or for
        # Validate ('validate'), as nbgrader's own Execute and Validator set it.
        "NBGRADER_EXECUTION": execution,
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


def _limited(command: list[str], limits: Limits, cgroups: "_CGroups | None",
             own_uid: bool = True) -> list[str]:
    """``command`` behind prlimit (rlimits inherited by the whole tree) and cgroup entry.

    Limits and cgroup membership are set by a small shell + prlimit in front of the
    command, not by preexec_fn, which is unsafe when the caller has threads (a Dask worker
    does). The command stays a list of words, so the kernel manager can append its own
    arguments. ``own_uid`` False (no sandbox: the kernel runs as the user) leaves out the
    process limit: RLIMIT_NPROC counts every process and thread of the uid, and a learner's
    desktop (a browser alone) often runs more than :attr:`Limits.processes`, so the kernel
    could not even start its own threads."""
    if not os.access(PRLIMIT, os.X_OK):  # only reachable with --no-sandbox
        return command
    prlimit = [
        PRLIMIT,
        f"--as={limits.memory_bytes}",
        *([f"--nproc={limits.processes}"] if own_uid else []),
        f"--fsize={limits.file_size_bytes}",
        f"--cpu={int(limits.cpu_seconds)}",
        "--core=0",
        "--",
    ]
    join = cgroups.join_command() if cgroups is not None else ""
    return ["/bin/sh", "-c", join + 'exec "$@"', "sandbox", *prlimit, *command]


def _kill_process_group(km) -> None:
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if process is None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _has_files(folder: Path) -> bool:
    return any(p.is_file() for p in folder.rglob("*"))


def execute_notebook(nb, workdir: str | None = None, limits: Limits | None = None,
                     sandbox: bool = True, instructor: dict | None = None,
                     declaration=None, execution: str = "autograde"):
    """Execute ``nb`` (an nbformat v4 NotebookNode) with its kernel in the sandbox.

    ``workdir``: the submission folder whose non-notebook files the notebook may read.
    Returns ``(executed_nb, outcome)``: a copy of ``nb`` whose code cells carry the outputs
    the kernel produced (cells that never ran carry an error output, so nbgrader cannot
    score them as passed), and the outcome dict (status, detail, seconds).
    ``sandbox=False`` runs the same kernel without bubblewrap (``--no-sandbox``).
    ``instructor``: the instructor's locked cells (:func:`executor.instructor_cells`); with
    it, test cells are judged by this worker's judge and never reach the kernel.
    ``declaration``: the problem set's :class:`~actlab.grading.allowlist.Declaration`; the
    sandbox then holds only the actlab modules it allows.
    ``execution``: the kernel's ``NBGRADER_EXECUTION`` ('autograde', or 'validate').
    """
    from . import executor
    from .judge import borrowed_judge

    limits = limits or Limits()
    start = time.monotonic()
    out_nb = copy.deepcopy(nb)

    _sweep_stale()
    scratch = Path(tempfile.mkdtemp(prefix=f"actlab-sandbox-{os.getpid()}-"))
    os.chmod(scratch, 0o755)
    cgroups = _CGroups(limits) if sandbox else None
    timed_out_hard = threading.Event()
    stderr_tail = ""
    judging = None
    hard_limit = limits.notebook_timeout + STARTUP_GRACE_SECONDS
    try:
        _copy_submission_files(workdir, scratch / "submission")
        uid = _sandbox_uid()
        # A passwd/group that knows only the student: no host accounts leak in.
        (scratch / "passwd").write_text(f"student:x:{uid}:{uid}:student:{HOME}:/bin/false\n")
        (scratch / "group").write_text(f"student:x:{uid}:\n")
        for name in ("passwd", "group"):
            os.chmod(scratch / name, 0o644)
        # The kernel's sockets: a folder the kernel owns while it binds them (see executor).
        ipc_dir = scratch / "ipc"
        ipc_dir.mkdir(mode=0o700)
        package = None
        if sandbox and declaration is not None:
            from .allowlist import filtered_package

            package = filtered_package(declaration, scratch / "actlab")
        if sandbox:
            os.chown(ipc_dir, uid, uid)
            command = _bwrap_command(scratch, limits, uid, ipc_dir,
                                     _has_files(scratch / "submission"),
                                     package)
            env = _child_env(HOME, execution)
            launch = {"cwd": str(scratch), "independent": True}
        else:
            command = list(KERNEL)
            env = _child_env(str(scratch), execution)
            env["PATH"] = os.environ.get("PATH", env["PATH"])
            launch = {"cwd": str(scratch / "submission")}
        km = executor.SandboxKernelManager(_limited(command, limits, cgroups, own_uid=sandbox),
                                           connection_file=str(ipc_dir / "kernel.json"),
                                           owner_uid=uid if sandbox else None)

        def lock_sockets():
            # From now on student code runs: the kernel may no longer add, swap or remove
            # anything in the socket folder.
            os.chown(ipc_dir, os.getuid(), os.getgid())
            os.chmod(ipc_dir, 0o755)

        def unlock_sockets():
            # A restarted kernel binds its sockets anew; it gets the folder back until then.
            os.chown(ipc_dir, uid, uid)
            os.chmod(ipc_dir, 0o700)

        def kill_sandbox():
            # The whole tree goes, whatever the kernel left running.
            _kill_process_group(km)
            if cgroups is not None:
                cgroups.kill_all()

        def watchdog():
            timed_out_hard.set()
            kill_sandbox()

        judge_lease = borrowed_judge() if instructor else contextlib.nullcontext()

        timer = threading.Timer(hard_limit, watchdog)
        timer.daemon = True
        stderr_path = scratch / "stderr.txt"
        with open(stderr_path, "wb") as stderr_file, judge_lease as judge:
            if instructor:
                judging = executor.Judging(
                    client=judge, cells=instructor, listen_path=str(ipc_dir / "judge.sock"),
                    kill=kill_sandbox, unlock=unlock_sockets if sandbox else (lambda: None))
            timer.start()
            try:
                status, detail = executor.run_cells(
                    out_nb, km, limits.cell_timeout, limits.notebook_timeout,
                    on_ready=lock_sockets if sandbox else None, judging=judging,
                    env=env, stdout=subprocess.DEVNULL, stderr=stderr_file, **launch)
            finally:
                timer.cancel()
                kill_sandbox()
        try:
            stderr_tail = stderr_path.read_bytes()[-2000:].decode("utf-8", "replace")
        except OSError:
            stderr_tail = ""
        oom = cgroups.oom_killed() if cgroups is not None else False
    finally:
        if cgroups is not None:
            cgroups.remove()
        shutil.rmtree(scratch, ignore_errors=True)

    if timed_out_hard.is_set():
        status, detail = ("timed_out",
                          f"sandbox killed after {hard_limit:.0f} s (whole-notebook limit)")
    elif oom and status in ("crashed", "ok"):
        status, detail = "killed_memory", (detail + " (memory cgroup OOM kill)").strip()
    elif status == "crashed" and stderr_tail.strip() and "kernel failed" in detail:
        detail += ": " + stderr_tail.strip().splitlines()[-1][:300]
    try:
        nbformat.validate(out_nb)
    except nbformat.ValidationError as exc:
        # Malformed outputs: keep nothing the kernel said, fail every code cell.
        status, detail = "crashed", f"invalid outputs from the kernel: {str(exc)[:200]}"
        for cell in out_nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [executor.error_output("InvalidOutputError", detail)]
                cell.execution_count = None
    outcome = {"status": status, "detail": detail[:2000],
               "seconds": round(time.monotonic() - start, 3)}
    if judging is not None:
        outcome["judge"] = {"restarts": judging.restarts, "trusted_errors": judging.trusted_errors}
    out_nb.metadata.setdefault("actlab", {})["sandbox"] = outcome
    return out_nb, outcome



# nbgrader takes most of a second to import (its package loads its Jupyter server extensions),
# and `actlab grade` imports this module to decide whether it can sandbox. SandboxedExecute,
# the only part that needs nbgrader, is therefore made on first use, so that
# `actlab grade --help` and usage errors answer at once; `actlab.grading.sandbox.SandboxedExecute`
# reaches it through __getattr__.

@functools.cache
def sandboxed_execute_class() -> type:
    """:class:`SandboxedExecute`, an nbgrader preprocessor (made here, on first use)."""
    from nbgrader.preprocessors import NbGraderPreprocessor

    class SandboxedExecute(NbGraderPreprocessor):
        """Drop-in replacement for nbgrader's ``Execute`` that runs the kernel in the sandbox.

        Use in ``Autograde.autograde_preprocessors`` in place of
        ``nbgrader.preprocessors.Execute``. Limits are traits (configurable as
        ``c.SandboxedExecute.cell_timeout = 30`` etc.) or can be passed as ``limits=Limits(...)``.
        """

        use_sandbox = Bool(True, help="Run under bubblewrap; False only for --no-sandbox."
                           ).tag(config=True)
        cell_timeout = Float(Limits.cell_timeout, help="Wall seconds per cell.").tag(config=True)
        notebook_timeout = Float(Limits.notebook_timeout,
                                 help="Wall seconds per notebook.").tag(config=True)
        memory_bytes = Integer(Limits.memory_bytes,
                               help="Address-space cap per process.").tag(config=True)
        processes = Integer(Limits.processes, help="Process/thread cap.").tag(config=True)
        file_size_bytes = Integer(Limits.file_size_bytes,
                                  help="Largest writable file.").tag(config=True)
        cpu_seconds = Integer(Limits.cpu_seconds, help="CPU seconds per process.").tag(config=True)
        disk_bytes = Integer(Limits.disk_bytes, help="Size of the writable tmpfs.").tag(config=True)
        #: The kernel's NBGRADER_EXECUTION.
        execution = "autograde"

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
            grading = (resources or {}).get("actlab", {})
            out_nb, outcome = execute_notebook(nb, workdir, self.limits, sandbox=self.use_sandbox,
                                               instructor=grading.get("instructor_cells"),
                                               declaration=grading.get("declaration"),
                                               execution=self.execution)
            resources.setdefault("actlab", {})["sandbox"] = outcome
            if outcome["status"] != "ok":
                self.log.warning("sandbox: %s (%s)", outcome["status"], outcome["detail"])
            return out_nb, resources

    return SandboxedExecute


def __getattr__(name: str):
    if name == "SandboxedExecute":
        return sandboxed_execute_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
