"""The command line of ``asyncsim run``: one rule, as ``python`` and ``coverage run`` have it.

``asyncsim run [options] SCRIPT [ARGS...]`` or ``asyncsim run [options] -m MODULE
[ARGS...]``: asyncsim's options come before the script (or ``-m MODULE``), and
everything after it is the script's, untouched, whatever it looks like. A ``--``
may end asyncsim's options (``asyncsim run --until 5 -- app.py``), which also
silences the note printed when a script argument looks like one of asyncsim's
options (``asyncsim run app.py --until 5`` passes ``--until 5`` to ``app.py``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["RunTarget", "looks_like_ours", "split_run_argv"]

USAGE_HINT = (
    "asyncsim run [options] SCRIPT [ARGS...]  or  asyncsim run [options] -m MODULE [ARGS...]"
)


@dataclass
class RunTarget:
    """What ``asyncsim run`` runs: a script path or a module name, and its arguments."""

    options: list[str] = field(default_factory=list)
    script: str | None = None
    module: str | None = None
    args: list[str] = field(default_factory=list)
    #: Whether a ``--`` ended asyncsim's options.
    separated: bool = False


def _takes_value(parser: argparse.ArgumentParser) -> dict[str, bool]:
    """Each option string of ``parser`` -> whether it takes a value."""
    arity = {}
    for action in parser._actions:
        for option in action.option_strings:
            arity[option] = action.nargs != 0
    return arity


def split_run_argv(tokens: Sequence[str], parser: argparse.ArgumentParser) -> RunTarget:
    """Split the arguments after ``run`` into asyncsim's options and the target's.

    Unknown options stay with asyncsim's, for argparse to refuse with its usual message.
    """
    arity = _takes_value(parser)
    target = RunTarget()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            target.separated = True
            rest = tokens[i + 1 :]
            if rest[:1] == ["-m"] and len(rest) >= 2:
                target.module, target.args = rest[1], list(rest[2:])
            elif rest:
                target.script, target.args = rest[0], list(rest[1:])
            return target
        if token == "-m" or (token.startswith("-m") and not token.startswith("--")):
            module = token[2:] or (tokens[i + 1] if i + 1 < len(tokens) else None)
            if module is None:
                raise argparse.ArgumentTypeError(f"-m needs a module name: {USAGE_HINT}")
            target.module = module
            target.args = list(tokens[i + (1 if token[2:] else 2) :])
            return target
        if token.startswith("-") and token != "-":
            target.options.append(token)
            name, eq, _ = token.partition("=")
            if arity.get(name, False) and not eq and i + 1 < len(tokens):
                target.options.append(tokens[i + 1])
                i += 1
            i += 1
            continue
        target.script, target.args = token, list(tokens[i + 1 :])
        return target
    return target


def looks_like_ours(target: RunTarget, parser: argparse.ArgumentParser) -> list[str]:
    """The script arguments that are also asyncsim run options (for a note), unless ``--``."""
    if target.separated:
        return []
    ours = set(_takes_value(parser)) - {"-h", "--help"}
    return [arg for arg in target.args if arg.partition("=")[0] in ours]
