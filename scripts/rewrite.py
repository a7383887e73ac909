"""The release's scripted edits of one file: a pure rewrite, applied in place or refused with the reason."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path


class RefusedError(ValueError):
    """The rewrite would not give what a release needs; the file is left as it was."""


def in_place(path: Path, rewrite: Callable[[str], str], *, name: str, done: str) -> int:
    """Apply `rewrite` to the file's text and save it, printing `done`; 0 done, 2 refused (the reason printed)."""
    try:
        text = rewrite(path.read_text(encoding="utf-8"))
    except (RefusedError, OSError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    path.write_text(text, encoding="utf-8")
    print(done)
    return 0
