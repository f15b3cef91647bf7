"""nbgrader configuration for the course's five problem sets.

Instructor notebooks live in ``solutions/`` and the generated student versions in
``exercises/`` (both in git). Everything produced while grading -- submissions, autograded
copies, feedback and the SQLite gradebook -- goes under ``grading-work/``, which git ignores,
so grading never leaves student data in the repository.
"""

import os

c = get_config()  # noqa: F821  (injected by traitlets when it loads this file)

# Anchor every path at this file so nbgrader behaves the same from any working directory.
_ROOT = os.path.dirname(os.path.abspath(__file__))
_WORK = "grading-work"

c.CourseDirectory.course_id = "activation-functions"
c.CourseDirectory.root = _ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = os.path.join(_WORK, "submitted")
c.CourseDirectory.autograded_directory = os.path.join(_WORK, "autograded")
c.CourseDirectory.feedback_directory = os.path.join(_WORK, "feedback")
c.CourseDirectory.solution_directory = os.path.join(_WORK, "solution")
c.CourseDirectory.source_with_tests_directory = os.path.join(_WORK, "source_with_tests")
# SQLite cannot create the folder that holds its file.
os.makedirs(os.path.join(_ROOT, _WORK), exist_ok=True)
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_ROOT, _WORK, "gradebook.db")

# The five problem sets, one notebook each, named like their folder.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__"]

# Student-facing stubs: the body of every solution region becomes one line that names the
# function to write, e.g. raise NotImplementedError("write sigmoid here, then delete this line")
# (actlab.grading.stubs.NamedStubs stands in for nbgrader's ClearSolutions, which has one fixed
# stub per language); a written answer becomes the text stub.
from actlab.grading.stubs import with_named_stubs  # noqa: E402

c.GenerateAssignment.preprocessors = with_named_stubs()
c.NamedStubs.code_stub = {
    "python": 'raise NotImplementedError("write {name} here, then delete this line")'}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Validation messages name the input and the fix; nbgrader cuts lines at this width.
c.Validator.width = 120

# Kernels whose kernelspec declares CurveZMQ support (ipykernel's does) get encrypted sockets,
# so ipykernel does not warn "Kernel is running over TCP without encryption" on every run;
# kernels that declare nothing are started as before.
c.KernelManager.transport_encryption = "auto"

# A runaway student loop must not hold the grader forever (seconds per cell).
c.Execute.timeout = 120

# Feedback returned to students (formgrader, `nbgrader generate_feedback`) never shows a
# hidden test: ClearHiddenTests removes the hidden lines from the test cells' source and
# HideTestDetails reduces each test's output to its verdict, without the traceback that
# would quote them. The autograded notebooks keep everything, for the instructor.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402

from actlab.grading.feedback import HideTestDetails  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests,
                                    HideTestDetails]
