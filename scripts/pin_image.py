"""Point action.yml at a prebuilt image by digest, for a release commit: `runs.image: Dockerfile` becomes
`runs.image: docker://<registry>/<name>@sha256:<digest>` and nothing else in the file changes.

Usage: scripts/pin_image.py ghcr.io/<owner>/autoscale-dbt-ci@sha256:<64 hex> [--file action.yml]
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

# A registry host, a lower-case repository path, and a sha256 digest: a tag (`:v1`) can be moved, a digest cannot.
IMAGE = re.compile(
    r"^(?P<registry>[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?)/(?P<path>[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*)"
    r"@sha256:(?P<digest>[0-9a-f]{64})$"
)
# The one line a release changes: `image:` indented under `runs:`, naming the Dockerfile.
_IMAGE_LINE = re.compile(r"^(?P<indent>[ ]+)image:[ ]*(?P<quote>['\"]?)Dockerfile(?P=quote)[ ]*(?P<comment>#.*)?$")


def pin(action_yml: str, image: str) -> str:
    """action.yml with `runs.image` naming `image` (a reference by digest) instead of the Dockerfile."""
    if not IMAGE.match(image):
        raise RefusedError(f"{image!r} is not an image named by digest, like ghcr.io/<owner>/<name>@sha256:<hex>")
    lines = action_yml.splitlines(keepends=True)
    runs = [index for index, line in enumerate(lines) if line.rstrip() == "runs:"]
    if len(runs) != 1:
        raise RefusedError("action.yml has no single top-level `runs:` section")
    found: list[int] = []
    for index in range(runs[0] + 1, len(lines)):
        line = lines[index]
        if line.strip() and not line.startswith((" ", "#")):
            break  # the next top-level key: the runs section has ended
        if _IMAGE_LINE.match(line.rstrip("\r\n")):
            found.append(index)
    if len(found) != 1:
        raise RefusedError("`runs.image: Dockerfile` is not in action.yml (already pinned?)")
    line = lines[found[0]]
    matched = _IMAGE_LINE.match(line.rstrip("\r\n"))
    assert matched is not None
    ending = line[len(line.rstrip("\r\n")) :]
    lines[found[0]] = f"{matched['indent']}image: docker://{image}{ending}"
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the file in place; 0 done, 2 refused."""
    parser = argparse.ArgumentParser(prog="scripts/pin_image.py", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("image", help="the pushed image by digest: ghcr.io/<owner>/<name>@sha256:<digest>")
    parser.add_argument("--file", type=Path, default=Path("action.yml"), help="the action metadata file")
    args = parser.parse_args(argv)
    return in_place(
        args.file,
        lambda text: pin(text, args.image),
        name="pin_image",
        done=f"{args.file}: runs.image is docker://{args.image}",
    )


if __name__ == "__main__":
    sys.exit(main())
