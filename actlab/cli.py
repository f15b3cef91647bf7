"""The ``actlab`` command: ``actlab experiment ...``, ``actlab grade ...``,
``actlab exercises ...``, the other instructor commands (``collect``, ``export``, ``formgrader``)
and the learner's (``lab``, ``update``, ``validate``).

Each subcommand owns its options; this module only dispatches, so ``actlab experiment --help``
and ``actlab grade --help`` print the subcommand's own help. nbgrader is imported only when a
grading or learner command is asked for, so ``actlab experiment`` works without the
``grading`` and ``lab`` extras (pyproject.toml); without them, those commands say which extra
to install.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Sequence

from tabulate import tabulate

__all__ = ["main", "COMMANDS"]

#: Subcommand -> one-line description shown by ``actlab --help``.
COMMANDS = {
    "experiment": "train one MLP per activation on MNIST and compare them (chapter 5)",
    "collect": "unpack an LMS's submissions download (Canvas, Moodle) into the submitted layout",
    "grade": "autograde a folder of submitted problem sets with nbgrader",
    "exercises": "generate the student versions (exercises/) from solutions/ with nbgrader",
    "export": "write the final grades (autograded plus marked by hand) to grades.csv and the "
              "LMS's CSV",
    "formgrader": "open nbgrader's formgrader on this course, to mark answers by hand",
    "lab": "start JupyterLab on your work copy mywork/ of the problem sets",
    "update": "take the newer release of a problem set into mywork/, keeping your answers",
    "validate": "check a problem-set notebook as nbgrader's Validate does; exit 1 if it fails",
}
# Commands of the grading package: command -> (module, its entry point taking argv).
_GRADING = {"collect": ("actlab.grading.collect", "main"), "grade": ("actlab.grading.cli", "main"),
            "exercises": ("actlab.grading.course", "exercises_main"),
            "export": ("actlab.grading.export", "main"),
            "formgrader": ("actlab.grading.formgrader", "main")}
# The learner's commands (the 'lab' extra): command -> (module, entry point).
_LEARNER = {"lab": ("actlab.lab", "main"), "update": ("actlab.lab", "update_main"),
            "validate": ("actlab.validate", "main")}


def _parser() -> argparse.ArgumentParser:
    epilog = "commands:\n" + textwrap.indent(tabulate(COMMANDS.items(), tablefmt="plain"), "  ")
    epilog += "\n\nRun 'actlab COMMAND --help' for the options of a command."
    p = argparse.ArgumentParser(
        prog="actlab",
        description="Tools of the course 'Activation Functions'.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    p.add_argument("command", choices=sorted(COMMANDS), metavar="COMMAND",
                   help="one of: " + ", ".join(sorted(COMMANDS)))
    return p


def _version() -> str:
    from actlab import __version__

    return __version__


def _exit_code(err: SystemExit) -> int:
    code = err.code
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``actlab``; returns the exit status (2 for usage errors)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    try:
        if not argv or argv[0].startswith("-") or argv[0] not in COMMANDS:
            # --help, --version, no command or an unknown one: argparse prints the help, the
            # version or the usage with the valid choices, and exits (0 or 2).
            parser.parse_args(argv[:1])
        command, rest = argv[0], argv[1:]
        if command == "experiment":
            from actlab.experiment import main as experiment_main

            return experiment_main(rest, prog="actlab experiment")
        import importlib

        module_name, entry = {**_GRADING, **_LEARNER}[command]
        extra = "lab" if command in _LEARNER else "grading"
        try:
            run = getattr(importlib.import_module(module_name), entry)
        except ModuleNotFoundError as err:
            if err.name is None or err.name.split(".")[0] == "actlab":
                raise  # a bug in actlab itself, not a missing dependency
            print(f"actlab {command}: no module named {err.name!r}: the {extra} dependencies are "
                  f"not installed; install them with: pip install -e '.[{extra}]'", file=sys.stderr)
            return 2
        return int(run(rest) or 0)
    except SystemExit as err:
        return _exit_code(err)


if __name__ == "__main__":
    sys.exit(main())
