"""The release's rewrite of action.yml: the image named by digest, and not one other byte changed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scripts.pin_image import main, pin
from scripts.rewrite import RefusedError
from tests.harness import ROOT

DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"ghcr.io/acme/autoscale-dbt-ci@{DIGEST}"
ACTION_YML = (ROOT / "action.yml").read_text(encoding="utf-8")


def test_the_image_is_named_by_digest_and_nothing_else_changes() -> None:
    pinned = pin(ACTION_YML, IMAGE)
    before, after = yaml.safe_load(ACTION_YML), yaml.safe_load(pinned)
    assert after["runs"]["image"] == f"docker://{IMAGE}"
    assert before["runs"]["image"] == "Dockerfile"
    after["runs"]["image"] = "Dockerfile"
    assert after == before
    changed = [(old, new) for old, new in zip(ACTION_YML.splitlines(), pinned.splitlines(), strict=True) if old != new]
    assert changed == [("  image: Dockerfile", f"  image: docker://{IMAGE}")]


def test_the_pinned_file_is_valid_action_metadata(tmp_path: Path) -> None:
    target = tmp_path / "action.yml"
    target.write_text(pin(ACTION_YML, IMAGE), encoding="utf-8")
    checked = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/acme/autoscale-dbt-ci:v1.2.3",  # a tag can be moved
        f"ghcr.io/Acme/autoscale-dbt-ci@{DIGEST}",  # registries want lower case
        f"ghcr.io/acme/autoscale-dbt-ci@{DIGEST[:-1]}",
        f"docker://ghcr.io/acme/autoscale-dbt-ci@{DIGEST}",  # the prefix is the rewrite's to add
        f"ghcr.io/acme/x@{DIGEST}\n  post-if: false",
    ],
)
def test_a_reference_that_is_not_a_digest_is_refused(image: str) -> None:
    with pytest.raises(RefusedError, match="not an image named by digest"):
        pin(ACTION_YML, image)


def test_an_action_yml_already_pinned_is_refused() -> None:
    with pytest.raises(RefusedError, match="already pinned"):
        pin(pin(ACTION_YML, IMAGE), IMAGE)


def test_only_the_runs_section_is_rewritten() -> None:
    text = "name: x\ninputs:\n  image:\n    default: Dockerfile\nruns:\n  using: docker\n  image: 'Dockerfile'\n"
    assert pin(text, IMAGE).endswith(f"runs:\n  using: docker\n  image: docker://{IMAGE}\n")
    with pytest.raises(RefusedError, match="no single top-level `runs:`"):
        pin("name: x\n", IMAGE)


def test_the_command_rewrites_in_place_or_leaves_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "action.yml"
    target.write_text(ACTION_YML, encoding="utf-8")
    assert main([IMAGE, "--file", str(target)]) == 0
    assert f"image: docker://{IMAGE}" in target.read_text(encoding="utf-8")
    assert main([IMAGE, "--file", str(target)]) == 2
    assert "already pinned" in capsys.readouterr().err
