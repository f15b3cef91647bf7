"""The one :class:`actlab.grading.course.Course`: configuration, assignment list, generation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import write_demo_course

from actlab.grading.course import CourseError, exercises_main, load_course

REPO = Path(__file__).resolve().parent.parent


def test_course_finds_exactly_the_five_problem_sets():
    """Does the course, read from nbgrader_config.py, list the five problem sets of DESIGN.md
    (and nothing else) as its assignments?"""
    assert load_course(REPO).assignments() == [
        "ps1_nonlinearity", "ps2_saturation", "ps3_relu", "ps4_variants", "ps5_custom"]


def test_private_config_keeps_the_course_settings_in_its_own_folder(tmp_path):
    """Does a private course folder get the stubs, timeout and course id of nbgrader_config.py,
    with nbgrader's default layout and a gradebook of its own under that folder?"""
    from nbgrader.coursedir import CourseDirectory

    course = load_course(REPO)
    cfg = course.private_config(tmp_path)
    assert cfg.NamedStubs.code_stub == course.config.NamedStubs.code_stub == {
        "python": 'raise NotImplementedError("write {name} here, then delete this line")'}
    assert cfg.GenerateAssignment.preprocessors == course.config.GenerateAssignment.preprocessors
    assert cfg.ClearSolutions.text_stub == "YOUR ANSWER HERE"
    assert cfg.Execute.timeout == course.config.Execute.timeout == 120
    coursedir = CourseDirectory(config=cfg)
    assert Path(coursedir.root) == tmp_path
    assert coursedir.course_id == course.course_id == "activation-functions"
    assert (coursedir.source_directory, coursedir.release_directory,
            coursedir.submitted_directory, coursedir.autograded_directory) == (
        "source", "release", "submitted", "autograded")
    assert coursedir.db_url == f"sqlite:///{tmp_path / 'gradebook.db'}"
    # The course's own config is left as it was.
    assert course.config.CourseDirectory.source_directory == "solutions"


def test_exercises_command_writes_the_committed_student_version(tmp_path):
    """Does `actlab exercises NAME --release DIR` exit 0 and write the student notebook that
    is committed in exercises/?"""
    name = "ps1_nonlinearity"
    assert exercises_main([name, "--course", str(REPO), "--release", str(tmp_path)]) == 0
    written = nbformat.read(tmp_path / name / f"{name}.ipynb", as_version=4)
    committed = nbformat.read(REPO / "exercises" / name / f"{name}.ipynb", as_version=4)
    assert written == committed
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_folder_without_nbgrader_config_is_a_course_error(tmp_path):
    """Is a folder with no nbgrader_config.py refused with a message naming the file?"""
    with pytest.raises(CourseError, match="nbgrader_config.py"):
        load_course(tmp_path)


def test_in_process_alembic_head_matches_nbgrader_command(tmp_path):
    """Is the schema version we stamp into new gradebooks the one `alembic heads` gives nbgrader?"""
    import nbgrader
    from actlab.grading.course import _alembic_head

    ini = (Path(nbgrader.__file__).parent / "alembic.ini").read_text()
    ini = ini.replace("{alembic_dir}", str(Path(nbgrader.__file__).parent / "alembic"))
    ini = ini.replace("{db_url}", f"sqlite:///{tmp_path / 'x.db'}")
    (tmp_path / "alembic.ini").write_text(ini)
    alembic = Path(sys.executable).parent / "alembic"
    out = subprocess.run([str(alembic), "-c", str(tmp_path / "alembic.ini"), "heads"],
                         capture_output=True, text=True, check=True).stdout
    assert _alembic_head() == out.split()[0]


def test_course_config_reads_solutions_releases_exercises_and_grades_outside_git():
    """Does nbgrader_config.py point nbgrader at solutions/ -> exercises/ and keep grading in
    grading-work/?"""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    coursedir = CourseDirectory(config=config)
    assert Path(coursedir.root) == REPO
    source = coursedir.format_path(coursedir.source_directory, ".", "ps3_relu")
    release = coursedir.format_path(coursedir.release_directory, ".", "ps3_relu")
    assert Path(source).resolve() == REPO / "solutions" / "ps3_relu"
    assert Path(release).resolve() == REPO / "exercises" / "ps3_relu"
    private = [coursedir.submitted_directory, coursedir.autograded_directory,
               coursedir.feedback_directory, coursedir.solution_directory]
    assert all(Path(d).parts[0] == "grading-work" for d in private), private
    assert coursedir.db_url == "sqlite:///" + str(REPO / "grading-work" / "gradebook.db")
    assert "grading-work/" in (REPO / ".gitignore").read_text().splitlines()


def test_generate_refuses_a_missing_instructor_notebook(tmp_path):
    """Does write_exercises() name the missing notebook instead of failing inside nbgrader?"""
    course = load_course(write_demo_course(tmp_path / "course"))
    with pytest.raises(CourseError, match="ps1_nonlinearity"):
        course.write_exercises(["ps1_nonlinearity"], tmp_path / "release")
    assert not (tmp_path / "release").exists()


def test_generate_command_rejects_an_unknown_assignment():
    """Does `actlab exercises` (what `make exercises` runs) name the valid assignments on a typo?"""
    actlab = Path(sys.executable).with_name("actlab")
    proc = subprocess.run([str(actlab), "exercises", "ps9_nope"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2
    assert "ps9_nope" in proc.stderr and "ps1_nonlinearity" in proc.stderr
