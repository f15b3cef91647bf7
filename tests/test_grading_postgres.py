"""The course gradebook on a real PostgreSQL server, as the cluster page recommends.

A private PostgreSQL server (Debian's binaries) is started in a temporary folder, listening on
127.0.0.1 only at a free port, with password authentication; the course's
``nbgrader_config.py`` points ``CourseDirectory.db_url`` at it exactly as
``book/instructors/cluster.md`` shows (driver ``psycopg2``, password from the environment).
A batch is graded with two worker processes, and the scores are read back through
nbgrader's own ``Gradebook`` API.

Needs PostgreSQL (``apt-get install postgresql``; CI's ``.ci/run`` installs it): without it
these tests skip and say so.
"""

from __future__ import annotations

import csv
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from helpers import DEMO_ASSIGNMENT, free_loopback_port, make_course, sandbox_flag

from actlab.grading import cli
from actlab.grading.course import load_course

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("grading_postgres")]

A = DEMO_ASSIGNMENT
STUDENTS = {"p1": "correct", "p2": "partial", "p3": "wrong", "p4": "broken", "p5": None}
PASSWORD = "s3cret-for-tests-only"
DATABASE = "activation_course"


def _postgres_bin() -> Path | None:
    """The folder of Debian's PostgreSQL server binaries (newest version), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


PG_BIN = _postgres_bin()
if PG_BIN is None or not (PG_BIN / "pg_ctl").exists():
    pytest.skip("PostgreSQL not installed: `apt-get install postgresql` (CI's .ci/run does this) "
                "to test the gradebook on a real database", allow_module_level=True)
psycopg2 = pytest.importorskip("psycopg2",
                               reason="pip install -r requirements.txt (psycopg2-binary)")


def _as_server_user() -> list[str]:
    """initdb and postgres refuse to run as root: run them as 'nobody' when we are root."""
    if os.geteuid() != 0:
        return []
    nobody = pwd.getpwnam("nobody")
    return ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server on 127.0.0.1 with role 'grader' (password) and an empty course
    database; yields the SQLAlchemy URL's parts (host, port). Stopped and deleted after."""
    # Not under pytest's temporary root: that is private to root, and the server runs as nobody.
    folder = Path(tempfile.mkdtemp(prefix="actlab-pg-"))
    run_as = _as_server_user()
    if run_as:
        shutil.chown(folder, user="nobody", group=pwd.getpwnam("nobody").pw_gid)
    data, log = folder / "data", folder / "server.log"
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if run_as:
        shutil.chown(pwfile, user="nobody")
    subprocess.run([*run_as, str(PG_BIN / "initdb"), "-D", str(data), "-U", "grader",
                    "--pwfile", str(pwfile), "--auth-host=scram-sha-256", "--auth-local=peer",
                    "-E", "UTF8", "--no-locale", "--no-sync"],
                   check=True, capture_output=True, timeout=120)
    pwfile.unlink()
    port = None
    for _ in range(5):  # the free port may be taken between choosing it and binding it
        port = free_loopback_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder} "
                   "-c fsync=off -c full_page_writes=off")
        proc = subprocess.run([*run_as, str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options,
                               "-l", str(log), "-w", "-t", "60", "start"],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode == 0:
            break
    else:
        pytest.fail("PostgreSQL did not start:\n"
                    f"{log.read_text() if log.exists() else proc.stderr}")
    try:
        conn = psycopg2.connect(host="127.0.0.1", port=port, user="grader", password=PASSWORD,
                                dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {DATABASE} OWNER grader")
        conn.close()
        yield "127.0.0.1", port
    finally:
        subprocess.run([*run_as, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                        "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def graded_into_postgres(postgres, tmp_path_factory):
    """(course, out folder, exit code) of `actlab grade --workers 2` into the PostgreSQL gradebook;
    the password stays in the environment while the module's tests load the course."""
    host, port = postgres
    root = tmp_path_factory.mktemp("grade_pg")
    course, submitted, _ = make_course(root, STUDENTS)
    # The cluster page's own snippet, with this server's host and port.
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write("c.CourseDirectory.db_url = (\n"
                 f"    'postgresql+psycopg2://grader:{{password}}@{host}:{port}/{DATABASE}'\n"
                 "    .format(password=os.environ['GRADEBOOK_PASSWORD'])\n)\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADEBOOK_PASSWORD", PASSWORD)
        out = root / "out"
        code = cli.main([str(submitted), "--course", str(course), "--out", str(out),
                         "--workers", "2", "--quiet", *sandbox_flag()])
        yield course, out, code


def test_cluster_page_names_the_pinned_driver():
    """Is the database driver that the cluster page tells instructors to install a pinned
    requirement?"""
    repo = Path(__file__).resolve().parents[1]
    page = (repo / "book" / "instructors" / "cluster.md").read_text(encoding="utf-8")
    pins = {line.split("==")[0].strip().lower(): line.split("==")[1].strip()
            for line in (repo / "requirements.txt").read_text().splitlines() if "==" in line}
    assert "postgresql+psycopg2://" in page and "`psycopg2-binary`" in page
    assert pins.get("psycopg2-binary") == psycopg2.__version__.split()[0]


def test_grading_with_two_workers_records_every_score_in_postgresql(graded_into_postgres, postgres):
    """Graded with --workers 2 into PostgreSQL, does nbgrader's Gradebook API read back exactly the
    scores of grades.csv, and no submission for the student who handed nothing in?"""
    from nbgrader.api import Gradebook, MissingEntry

    course, out, code = graded_into_postgres
    assert code == 0
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert {s: (rows[s]["score"], rows[s]["status"]) for s in rows} == {
        "p1": ("3", "graded"), "p2": ("1", "graded"), "p3": ("0", "graded"),
        "p4": ("0", "quarantined"), "p5": ("0", "missing")}

    loaded = load_course(course)
    assert loaded.db_url.startswith("postgresql+psycopg2://grader:")
    with Gradebook(loaded.db_url, loaded.course_id) as gb:
        assert gb.engine.dialect.name == "postgresql"
        assert sorted(s.id for s in gb.students) == sorted(STUDENTS)
        for student in ("p1", "p2", "p3", "p4"):
            sub = gb.find_submission(A, student)
            assert sub.score == float(rows[student]["score"]), student
            assert sub.max_score == 3.0
            assert sub.needs_manual_grade is False
        per_cell = {g.name: g.score for g in gb.find_submission_notebook(A, A, "p2").grades}
        assert per_cell == {"test_leaky_positive": 1.0, "test_leaky_negative": 0.0}
        with pytest.raises(MissingEntry):
            gb.find_submission(A, "p5")


def test_the_server_listens_on_loopback_only(postgres):
    """Does the test's PostgreSQL server accept connections on 127.0.0.1 and nowhere else?"""
    host, port = postgres
    conn = psycopg2.connect(host=host, port=port, user="grader", password=PASSWORD, dbname=DATABASE)
    with conn.cursor() as cur:
        cur.execute("SHOW listen_addresses")
        assert cur.fetchone()[0] == "127.0.0.1"
    conn.close()
