"""Write each input's text where it is shown, from action.yml, the one place it is kept: the command line's help
(autoscale_ci/inputs/help.py, written whole) and the README's inputs table (between its two marker comments, and
nothing outside them).

An input's description is written once, in action.yml, as plain text that reads well on the Marketplace and in a
terminal (backticks around names and values are kept). Two phrasings become something else in the README only:
`see "<heading>" in the README` becomes a link to that heading, and ` (default `<value>`)`, for an input whose default
in action.yml is empty, moves to the table's default column.

Usage: scripts/gen_inputs.py [--check] [--root DIR]
Exit status: 0 written (with --check: every file is current), 1 with --check when a file is stale (each is named, with
the command that regenerates it), 2 refused (the reason is printed; no file is written).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

# Run as `python scripts/<name>.py` (and by `make inputs`), where the package is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.rewrite import RefusedError

ROOT = Path(__file__).resolve().parents[1]
ACTION_YML = Path("action.yml")
HELP_PY = Path("autoscale_ci/inputs/help.py")
README_MD = Path("README.md")
COMMAND = "python scripts/gen_inputs.py"
TABLE_START = "<!-- inputs table: generated from action.yml by scripts/gen_inputs.py -->"
TABLE_END = "<!-- end of inputs table -->"
# ruff's line length (pyproject.toml): the generated module must pass `ruff format --check` as written.
LINE_LENGTH = 120

# The README's default column for an input whose default in action.yml is empty, where nothing in action.yml says
# what empty stands for. Display only: the runner, the settings and the command line see the empty default. Every
# other label is derived (see `default_shown`).
EMPTY_DEFAULT_SHOWN = {
    "account-id": "(the token's)",
    "pr-number": "(event's)",
    "git-sha": "(event's)",
}

# ` (default `<value>`)` in a description: the stand-in for an empty default, shown in the README's default column.
_STATED_DEFAULT = re.compile(r" \(default `([^`]+)`\)")
# `see "<heading>" in the README`: a link to the heading in the README itself.
_SEE_HEADING = re.compile(r'\b([Ss]ee) "([^"]+)" in the README')

HELP_DOCSTRING = '''\
"""What each input of the action does and its default, as action.yml says: the command line's help, which has no
action.yml beside it in the image or the wheel. Generated from action.yml by scripts/gen_inputs.py: do not edit it by
hand, edit action.yml and run `python scripts/gen_inputs.py`."""'''


@dataclass(frozen=True)
class Input:
    """One input as action.yml declares it; the description on one line."""

    name: str
    description: str
    default: str
    required: bool


def read_inputs(action_yml: str) -> list[Input]:
    """The inputs action.yml declares, in its order."""
    spec = yaml.safe_load(action_yml)
    inputs = spec.get("inputs") if isinstance(spec, dict) else None
    if not isinstance(inputs, dict) or not inputs:
        raise RefusedError("action.yml declares no inputs")
    read: list[Input] = []
    for name, body in inputs.items():
        if not isinstance(body, dict) or not isinstance(body.get("description"), str):
            raise RefusedError(f"action.yml: input {name} has no description")
        default = body.get("default", "")
        # YAML reads `default: true` as a boolean, which the runner would hand over as text of its own spelling.
        if not isinstance(default, str):
            raise RefusedError(f"action.yml: quote the default of input {name} ({default!r}): the runner passes text")
        read.append(Input(str(name), " ".join(body["description"].split()), default, body.get("required") is True))
    return read


def literal(text: str) -> str:
    """`text` as a string literal quoted as ruff format quotes it: double quotes unless that needs more escapes."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def string_lines(text: str, indent: int) -> list[str]:
    """`text` as an item of a collection: one literal, or adjacent ones cut after a space when one would run past the
    line length (ruff format joins adjacent literals that fit on a line), the last followed by a comma."""
    room = LINE_LENGTH - indent - 1  # the comma, or a part's own room to spare
    if len(literal(text)) <= room:
        return [literal(text) + ","]
    parts: list[str] = []
    current = ""
    for word in re.split(r"(?<= )", text):
        if current and len(literal(current + word)) > room:
            parts.append(current)
            current = word
        else:
            current += word
    parts.append(current)
    lines = [literal(part) for part in parts]
    lines[-1] += ","
    return lines


def help_module(inputs: list[Input]) -> str:
    """autoscale_ci/inputs/help.py: INPUTS, name -> (description, default), in action.yml's order."""
    lines = [
        HELP_DOCSTRING,
        "",
        "from __future__ import annotations",
        "",
        "# name -> (description, default), in action.yml's order.",
        "INPUTS: dict[str, tuple[str, str]] = {",
    ]
    for item in inputs:
        lines.append(f"    {literal(item.name)}: (")
        lines.extend(f"        {line}" for line in string_lines(item.description, 8))
        lines.extend(f"        {line}" for line in string_lines(item.default, 8))
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def headings(readme: str) -> list[str]:
    """The README's headings, outside fenced code."""
    found: list[str] = []
    fenced = False
    for line in readme.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (heading := re.fullmatch(r"#{1,6} +(.+?)[ #]*", line)):
            found.append(heading.group(1))
    return found


def anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def default_shown(item: Input, stated: str | None) -> str:
    """The README's default column: `(required)`, the default, the description's stand-in for an empty one, a label
    from EMPTY_DEFAULT_SHOWN, `(job's)` for an override, else `(none)`."""
    if item.required:
        return "(required)"
    if item.default:
        return f"`{item.default}`"
    if stated is not None:
        return f"`{stated}`"
    if item.name in EMPTY_DEFAULT_SHOWN:
        return EMPTY_DEFAULT_SHOWN[item.name]
    if item.name.endswith("-override"):
        return "(job's)"  # an override left empty leaves the job's own setting
    return "(none)"


def table(inputs: list[Input], readme: str) -> str:
    """The README's inputs table: a row for each input, in action.yml's order."""
    ids = {heading: anchor(heading) for heading in headings(readme)}

    def link(matched: re.Match[str]) -> str:
        see, heading = matched.groups()
        if heading not in ids:
            raise RefusedError(f'action.yml says see "{heading}" in the README, which has no such heading')
        return f"{see} [{heading}](#{ids[heading]})"

    rows = ["| input | default | description |", "| --- | --- | --- |"]
    for item in inputs:
        stated = _STATED_DEFAULT.findall(item.description)
        if len(stated) > 1 or (stated and (item.default or item.required or item.name in EMPTY_DEFAULT_SHOWN)):
            raise RefusedError(
                f"action.yml: input {item.name} says `(default ...)` in its description, which is only for one empty "
                "default that the README shows in its default column"
            )
        description = _SEE_HEADING.sub(link, _STATED_DEFAULT.sub("", item.description))
        shown = default_shown(item, stated[0] if stated else None)
        rows.append(f"| `{item.name}` | {cell(shown)} | {cell(description)} |")
    return "\n".join(rows)


def cell(text: str) -> str:
    """`text` in a Markdown table cell: a pipe would end the cell."""
    return text.replace("|", "\\|")


def with_table(readme: str, rows: str) -> str:
    """The README with `rows` between the two marker comments, and not one byte outside them changed."""
    start, end = readme.find(TABLE_START), readme.find(TABLE_END)
    if readme.count(TABLE_START) != 1 or readme.count(TABLE_END) != 1 or end < start:
        raise RefusedError(f"README.md needs the lines {TABLE_START} and then {TABLE_END}, once each")
    return f"{readme[: start + len(TABLE_START)]}\n\n{rows}\n\n{readme[end:]}"


def generated(root: Path) -> dict[Path, str]:
    """Each file this writes, relative to `root`, with the text action.yml gives it."""
    inputs = read_inputs((root / ACTION_YML).read_text(encoding="utf-8"))
    declared = {item.name: item for item in inputs}
    for name in EMPTY_DEFAULT_SHOWN:
        if name not in declared or declared[name].required or declared[name].default:
            raise RefusedError(f"EMPTY_DEFAULT_SHOWN names {name}: no input of action.yml with an empty default")
    readme = (root / README_MD).read_text(encoding="utf-8")
    return {HELP_PY: help_module(inputs), README_MD: with_table(readme, table(inputs, readme))}


def stale(root: Path, wanted: dict[Path, str]) -> list[Path]:
    """The files under `root` whose text is not what action.yml gives (a missing one included)."""
    paths: list[Path] = []
    for path, text in wanted.items():
        try:
            current = (root / path).read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != text:
            paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Write the stale files, or with --check name them; 0 current, 1 stale (--check), 2 refused."""
    parser = argparse.ArgumentParser(prog="scripts/gen_inputs.py", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 naming each stale file")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this script's)")
    args = parser.parse_args(argv)
    try:
        wanted = generated(args.root)
    except (RefusedError, OSError, yaml.YAMLError) as exc:
        print(f"gen_inputs: {exc}", file=sys.stderr)
        return 2
    behind = stale(args.root, wanted)
    names = " and ".join(path.as_posix() for path in behind)
    if args.check:
        if behind:
            verb = "is" if len(behind) == 1 else "are"
            print(f"gen_inputs: {names} {verb} not what action.yml gives: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    for path in behind:
        (args.root / path).write_text(wanted[path], encoding="utf-8")
    print(f"{names}: written from action.yml" if behind else "every file is what action.yml gives")
    return 0


if __name__ == "__main__":
    sys.exit(main())
