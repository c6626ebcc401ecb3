"""Entry point of the ``hwnas`` command: builds the typer app and maps errors to one line.

Every :class:`~hwnas.errors.HwnasError` and every command-line usage error ends as
``error: <one line>`` on stderr, exit code 2 for usage and 1 for failures; set
``HWNAS_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import typer

from hwnas import __version__
from hwnas.cli import spaces as spaces_cmds
from hwnas.errors import HwnasError, UsageError

app = typer.Typer(
    name="hwnas",
    help="Hardware-aware, training-free neural architecture search for edge devices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.command("spaces")(spaces_cmds.spaces)
app.command("sample")(spaces_cmds.sample)
app.command("info")(spaces_cmds.info)
app.command("references")(spaces_cmds.references)


def _register_optional_groups() -> None:
    """Command groups of later pipeline stages register themselves here when present."""
    import importlib

    for module in ("proxies", "bench", "latency", "profile", "search", "export"):
        try:
            mod = importlib.import_module(f"hwnas.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name == f"hwnas.cli.{module}":
                continue
            raise
        mod.register(app)


_register_optional_groups()


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the hwnas version and exit.")) -> None:
    if version:
        print(__version__)
        raise typer.Exit()


MAX_LINE = 1000  # a message quoting a huge input is cut here, whatever raised it


def _fail(message: str, code: int) -> int:
    first_line = message.strip().splitlines()[0] if message.strip() else "unknown error"
    if len(first_line) > MAX_LINE:
        first_line = f"{first_line[:MAX_LINE]}... ({len(first_line) - MAX_LINE:,} more characters)"
    sys.stderr.write(f"error: {first_line}\n")
    return code


INTERRUPTED = 130
#: Commands whose work is checkpointed as it goes, and how to continue after an interrupt.
RESUMABLE = {"search": "--resume", "score": "--resume", "profile": "--resume", "bench-proxies": ""}


def _interrupted(args: list[str]) -> int:
    command = next((a for a in args if not a.startswith("-")), "")
    if command in RESUMABLE:
        from hwnas.io import last_checkpoint

        how = f"the same command with {RESUMABLE[command]}" if RESUMABLE[command] else "the same command"
        saved = last_checkpoint()
        where = f" in {saved}" if saved is not None else ""
        return _fail(f"interrupted: what was done so far is saved{where}; run {how} to continue", INTERRUPTED)
    return _fail("interrupted", INTERRUPTED)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a job scheduler, ``kill``) ends a command like Ctrl-C: checkpoints are written
    on the way out, so ``--resume`` loses nothing, and the same one line is printed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    parent = os.getpid()

    def interrupt(signum: int, frame: Any) -> None:
        if os.getpid() != parent:  # a library's forked helper (OpenVINO's telemetry) inherited this handler:
            os._exit(128 + signum)  # end it as SIGTERM would, not with a KeyboardInterrupt traceback
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    debug = bool(os.environ.get("HWNAS_DEBUG"))
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        args = ["--help"]
    try:
        with _terminate_as_interrupt():
            result = app(args=args, prog_name="hwnas", standalone_mode=False)
    except typer.Exit as exc:
        if exc.exit_code == INTERRUPTED:  # typer turns Ctrl-C into Exit(130), silently
            return _interrupted(args)
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        return _interrupted(args)
    except typer.TyperException as exc:  # click's usage and parameter errors (exit code 2)
        if debug:
            raise
        return _fail(exc.format_message(), getattr(exc, "exit_code", 2))
    except UsageError as exc:
        if debug:
            raise
        return _fail(str(exc), 2)
    except HwnasError as exc:
        if debug:
            raise
        return _fail(str(exc), 1)
    except BrokenPipeError:
        return 0
    except OSError as exc:  # read-only folder, full disk, a file where a folder is expected, ...
        if debug:
            raise
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        return _fail(f"{exc.strerror or exc}{where}", 1)
    except UnicodeError as exc:
        if debug:
            raise
        return _fail(f"a file is not UTF-8 text ({getattr(exc, 'reason', exc)})", 1)
    if result == INTERRUPTED:  # typer 0.29 returns Ctrl-C as exit code 130 without a word
        return _interrupted(args)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
