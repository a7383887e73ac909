"""The release's rewrite of the package version: the tag's version, and not one other byte changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.rewrite import RefusedError
from scripts.stamp_version import UNRELEASED, main, stamp
from tests.harness import ROOT

INIT_PY = (ROOT / "autoscale_ci" / "__init__.py").read_text(encoding="utf-8")


def test_the_default_branch_says_it_is_no_release() -> None:
    import autoscale_ci

    assert autoscale_ci.__version__ == UNRELEASED


def test_the_tags_version_replaces_that_line_only() -> None:
    stamped = stamp(INIT_PY, "v1.2.3")
    changed = [(old, new) for old, new in zip(INIT_PY.splitlines(), stamped.splitlines(), strict=True) if old != new]
    assert changed == [(f'__version__ = "{UNRELEASED}"', '__version__ = "1.2.3"')]


@pytest.mark.parametrize("tag", ["1.2.3", "v1.2", "v1.2.3-rc1", "v01.2.3", "v1.2.3\n"])
def test_anything_but_a_release_tag_is_refused(tag: str) -> None:
    with pytest.raises(RefusedError, match="release tag"):
        stamp(INIT_PY, tag)


def test_a_stamped_file_is_not_stamped_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "__init__.py"
    path.write_text(INIT_PY, encoding="utf-8")
    assert main(["v2.0.0", "--file", str(path)]) == 0
    assert '__version__ = "2.0.0"' in path.read_text(encoding="utf-8")
    assert main(["v2.0.1", "--file", str(path)]) == 2
    assert "already stamped?" in capsys.readouterr().err
    assert '__version__ = "2.0.0"' in path.read_text(encoding="utf-8")
