"""The ``actlab`` command: ``actlab experiment ...``, ``actlab grade ...``, ``actlab exercises ...``
and the other instructor commands (``collect``, ``export``, ``formgrader``).

Each subcommand owns its options; this module only dispatches, so ``actlab experiment --help``
and ``actlab grade --help`` print the subcommand's own help. nbgrader is imported only when a
grading command is asked for, so ``actlab experiment`` works without the ``grading`` extra
(pyproject.toml); without it, those commands say which extra to install.
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
    "export": "write the final grades (autograded plus marked by hand) to grades.csv and the LMS's CSV",
    "formgrader": "open nbgrader's formgrader on this course, to mark answers by hand",
}
# Commands of the grading package: command -> (module, its entry point taking argv).
_GRADING = {"collect": ("actlab.grading.collect", "main"), "grade": ("actlab.grading.cli", "main"),
            "exercises": ("actlab.grading.course", "exercises_main"),
            "export": ("actlab.grading.export", "main"),
            "formgrader": ("actlab.grading.formgrader", "main")}


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

        module_name, entry = _GRADING[command]
        try:
            run = getattr(importlib.import_module(module_name), entry)
        except ModuleNotFoundError as err:
            if err.name is None or err.name.split(".")[0] == "actlab":
                raise  # a bug in actlab itself, not a missing dependency
            print(f"actlab {command}: no module named {err.name!r}: the grading dependencies are "
                  f"not installed; install them with: pip install -e '.[grading]'", file=sys.stderr)
            return 2
        return int(run(rest) or 0)
    except SystemExit as err:
        return _exit_code(err)


if __name__ == "__main__":
    sys.exit(main())
