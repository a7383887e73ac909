"""Give the package the release's version, for a release commit: `__version__ = "0+unreleased"` in
autoscale_ci/__init__.py becomes `__version__ = "1.2.3"` for the release v1.2.3, and nothing else in the file changes.
So `autoscale-dbt-ci --version` and the User-Agent name the tag a user pinned, and the default branch, which is no
release, says so.

Usage: scripts/stamp_version.py v1.2.3 [--file autoscale_ci/__init__.py]
Exit status: 0 rewritten, 2 refused (the reason is printed; the file is left as it was).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

# Run as `python scripts/<name>.py` in the release workflow, where the package is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.rewrite import RefusedError, in_place

UNRELEASED = "0+unreleased"
_TAG = re.compile(r"v(?P<version>(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*))")
_LINE = re.compile(rf'^__version__ = "{re.escape(UNRELEASED)}"$', re.MULTILINE)


def stamp(init_py: str, tag: str) -> str:
    """The package's __init__.py with the version of the release tag `tag` (v1.2.3 gives 1.2.3)."""
    matched = _TAG.fullmatch(tag)
    if not matched:
        raise RefusedError(f"{tag!r} is not a release tag like v1.2.3")
    if len(_LINE.findall(init_py)) != 1:
        raise RefusedError(f'`__version__ = "{UNRELEASED}"` is not in the file once (already stamped?)')
    return _LINE.sub(f'__version__ = "{matched["version"]}"', init_py)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the file in place; 0 done, 2 refused."""
    parser = argparse.ArgumentParser(prog="scripts/stamp_version.py", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("tag", help="the release's tag: v1.2.3")
    parser.add_argument("--file", type=Path, default=Path("autoscale_ci/__init__.py"), help="the package's __init__.py")
    args = parser.parse_args(argv)
    return in_place(
        args.file,
        lambda text: stamp(text, args.tag),
        name="stamp_version",
        done=f"{args.file}: __version__ is {args.tag[1:]}",
    )


if __name__ == "__main__":
    sys.exit(main())
