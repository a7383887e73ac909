"""The inputs' text written from action.yml: the command line's help and the README's inputs table are current, a
stale copy is named, and nothing in the README outside the table's markers is touched."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scripts.gen_inputs import (
    ACTION_YML,
    COMMAND,
    EMPTY_DEFAULT_SHOWN,
    HELP_PY,
    README_MD,
    TABLE_END,
    TABLE_START,
    Input,
    anchor,
    generated,
    help_module,
    main,
    read_inputs,
    stale,
    table,
)
from scripts.rewrite import RefusedError
from tests.harness import ROOT

ACTION_TEXT = (ROOT / ACTION_YML).read_text(encoding="utf-8")
ACTION = yaml.safe_load(ACTION_TEXT)
README = (ROOT / README_MD).read_text(encoding="utf-8")


def copy_of_the_repository(root: Path) -> Path:
    """The three files the generator reads and writes, copied under `root`."""
    for path in (ACTION_YML, HELP_PY, README_MD):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / path, root / path)
    return root


def inputs_table_rows(readme: str) -> dict[str, list[str]]:
    """The cells of each row between the inputs table's markers under `## Inputs`, keyed by the input's name."""
    section = readme.split("\n## Inputs\n", 1)[1].split("\n## ", 1)[0]
    between = section.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
    rows: dict[str, list[str]] = {}
    for line in between.splitlines():
        if name := re.match(r"\| `([a-z0-9-]+)` \|", line):
            rows[name.group(1)] = [cell.strip() for cell in line.strip("|").split(" | ")][1:]
    return rows


def test_the_generated_files_are_current() -> None:
    assert stale(ROOT, generated(ROOT)) == [], f"action.yml's inputs changed: run `{COMMAND}`"


def test_every_input_of_action_yml_has_a_row_in_order_and_its_default() -> None:
    rows = inputs_table_rows(README)
    assert list(rows) == list(ACTION["inputs"])
    for name, body in ACTION["inputs"].items():
        shown = rows[name][0]
        if body.get("required"):
            assert shown == "(required)", name
        elif body.get("default"):
            assert shown == f"`{body['default']}`", name
        else:
            assert re.fullmatch(r"\([^)]+\)|`[^`]+`", shown), f"{name}: an empty default shows a label: {shown}"


def test_the_help_module_has_each_inputs_description_and_default() -> None:
    from autoscale_ci.inputs.help import INPUTS

    assert {item.name: (item.description, item.default) for item in read_inputs(ACTION_TEXT)} == INPUTS
    assert INPUTS["dbt-cloud-host"][1] == "https://cloud.getdbt.com"
    assert INPUTS["mode"][0].endswith('(see "Cleanup" in the README).')  # plain text in a terminal: no README link


def test_check_names_each_stale_file_and_the_command_and_writes_nothing(tmp_path: Path) -> None:
    root = copy_of_the_repository(tmp_path)
    action = root / ACTION_YML
    action.write_text(
        action.read_text(encoding="utf-8").replace("Run for draft pull requests too.", "Run for drafts too."),
        encoding="utf-8",
    )
    before = {path: (root / path).read_bytes() for path in (ACTION_YML, HELP_PY, README_MD)}
    # As the Makefile and a contributor run it: a plain script, from another folder.
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_inputs.py"), "--check", "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert checked.returncode == 1
    assert f"{HELP_PY.as_posix()} and {README_MD.as_posix()} are not what action.yml gives" in checked.stderr
    assert f"run `{COMMAND}`" in checked.stderr
    assert {path: (root / path).read_bytes() for path in before} == before

    assert main(["--root", str(root)]) == 0
    assert main(["--check", "--root", str(root)]) == 0
    assert "Run for drafts too." in (root / HELP_PY).read_text(encoding="utf-8")
    assert inputs_table_rows((root / README_MD).read_text(encoding="utf-8"))["run-on-draft"][1] == "Run for drafts too."


def test_check_names_the_one_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_of_the_repository(tmp_path)
    (root / HELP_PY).write_text((root / HELP_PY).read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert main(["--check", "--root", str(root)]) == 1
    assert f"{HELP_PY.as_posix()} is not what action.yml gives: run `{COMMAND}`" in capsys.readouterr().err


def test_a_run_touches_nothing_in_the_readme_outside_the_markers(tmp_path: Path) -> None:
    root = copy_of_the_repository(tmp_path)
    readme = root / README_MD
    head, rest = README.split(TABLE_START, 1)
    tail = rest.split(TABLE_END, 1)[1]
    head, tail = head + "Text before the table. | `mode` | x | y |\n", "\n| `wait` | a row outside |" + tail
    readme.write_text(f"{head}{TABLE_START}\nan old table\n{TABLE_END}{tail}", encoding="utf-8")
    assert main(["--root", str(root)]) == 0
    written = readme.read_text(encoding="utf-8")
    assert written.startswith(head + TABLE_START)
    assert written.endswith(TABLE_END + tail)
    assert written.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0] == rest.split(TABLE_END, 1)[0]


def test_the_help_module_is_stable_under_ruff_format_and_passes_ruff_check() -> None:
    words = "word " * 30
    tricky = [
        *(Input(f"length-{size}", words[:size].strip() + ".", "", False) for size in range(95, 135)),
        Input("quotes", """the job's "Run on pull requests" on, and "a" 'b' "c" """ * 3, "it's", False),
        Input("backslash", "a \\ and \\n stay as written " * 5, '"quoted"', False),
    ]
    unsplittable = [Input("a-word-longer-than-a-line", "x" * 130, "", True)]  # too long for ruff check: format only
    for inputs, commands in (
        (read_inputs(ACTION_TEXT), (["format", "--check"], ["check"])),
        (tricky, (["format", "--check"], ["check"])),
        (unsplittable, (["format", "--check"],)),
    ):
        module = help_module(inputs)
        namespace: dict[str, object] = {}
        exec(compile(module, str(HELP_PY), "exec"), namespace)
        assert namespace["INPUTS"] == {item.name: (item.description, item.default) for item in inputs}
        for command in commands:
            ruff = subprocess.run(
                [sys.executable, "-m", "ruff", *command, "--stdin-filename", str(HELP_PY), "-"],
                input=module,
                capture_output=True,
                text=True,
                check=False,
                cwd=ROOT,
            )
            assert ruff.returncode == 0, (command, ruff.stdout, ruff.stderr)


def test_an_empty_default_is_shown_as_derived_or_as_the_one_mapping_says() -> None:
    inputs = [
        Input("job-id", "The job.", "", True),
        Input("wait", "Wait.", "true", False),
        Input("cause", "Cause (default `PR #<n>`); more.", "", False),
        Input("threads-override", "Threads.", "", False),
        Input("git-branch", "Branch.", "", False),
        *(Input(name, "From elsewhere.", "", False) for name in EMPTY_DEFAULT_SHOWN),
    ]
    rows = inputs_table_rows(f"\n## Inputs\n{TABLE_START}\n{table(inputs, '')}\n{TABLE_END}\n")
    assert {name: cells[0] for name, cells in rows.items()} == {
        "job-id": "(required)",
        "wait": "`true`",
        "cause": "`PR #<n>`",
        "threads-override": "(job's)",
        "git-branch": "(none)",
        **EMPTY_DEFAULT_SHOWN,
    }
    assert rows["cause"][1] == "Cause; more."  # the stand-in moves to the default column


def test_a_heading_the_readme_has_becomes_a_link_and_a_pipe_is_escaped() -> None:
    readme = "# Title\n\n## dbt's own CI run\n\n```sh\n# not a heading\n```\n"
    rows = table([Input("a", 'a|b; see "dbt\'s own CI run" in the README.', "x", False)], readme)
    assert rows.endswith("| `a` | `x` | a\\|b; see [dbt's own CI run](#dbts-own-ci-run). |")
    assert anchor("A closed PR leaves nothing behind") == "a-closed-pr-leaves-nothing-behind"
    with pytest.raises(RefusedError, match="no such heading"):
        table([Input("a", 'See "not a heading" in the README.', "x", False)], readme)


@pytest.mark.parametrize(
    ("action_yml", "reason"),
    [
        ("inputs:\n  a:\n    default: x\n", "input a has no description"),
        ("inputs:\n  a:\n    description: A.\n    default: true\n", "quote the default of input a"),
        ("name: x\n", "declares no inputs"),
    ],
)
def test_action_yml_the_generator_cannot_read_is_refused(action_yml: str, reason: str) -> None:
    with pytest.raises(RefusedError, match=reason):
        read_inputs(action_yml)


def test_a_default_stated_beside_a_real_one_or_a_stale_mapping_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RefusedError, match=r"says `\(default \.\.\.\)`"):
        table([Input("wait", "Wait (default `yes`).", "true", False)], "")
    monkeypatch.setitem(EMPTY_DEFAULT_SHOWN, "wait", "(the runner's)")  # wait has a default of its own
    with pytest.raises(RefusedError, match="EMPTY_DEFAULT_SHOWN names wait"):
        generated(ROOT)


def test_a_readme_without_the_markers_is_refused_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_of_the_repository(tmp_path)
    (root / README_MD).write_text(README.replace(TABLE_END, ""), encoding="utf-8")
    (root / HELP_PY).write_text("stale\n", encoding="utf-8")
    assert main(["--root", str(root)]) == 2
    assert "README.md needs the lines" in capsys.readouterr().err
    assert (root / HELP_PY).read_text(encoding="utf-8") == "stale\n"
