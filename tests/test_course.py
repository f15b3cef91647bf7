"""The one :class:`actlab.grading.course.Course`: configuration, assignment list, generation."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

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
