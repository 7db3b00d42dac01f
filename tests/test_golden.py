"""Golden output: the sample site built and compared with a stored tree, file by file.

After an intended change of the output, regenerate the tree and review its diff:

    DIGEST_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

from digest.build import Builder, BuildOptions
from tests.conftest import SAMPLE_CONTENT

GOLDEN = Path(__file__).parent / "golden" / "sample"
BASE_URL = "https://example.github.io/digest/"


def build_sample(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLE_CONTENT, tmp_path / "content")
    (tmp_path / "digest.toml").write_text('title = "Sample digest"\ntimezone = "UTC"\n')
    options = BuildOptions(
        config_path=tmp_path / "digest.toml",
        content_dir=tmp_path / "content",
        output_dir=tmp_path / "site",
        base_url=BASE_URL,
        use_cache=False,
        site_dir=tmp_path,
    )
    Builder(options, workers=1).build()
    return tmp_path / "site"


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_sample_site_matches_golden_tree(tmp_path: Path) -> None:
    built = files_of(build_sample(tmp_path))
    if os.environ.get("DIGEST_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for rel, data in built.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
    golden = files_of(GOLDEN)
    assert sorted(built) == sorted(golden), "the set of output files changed"
    for rel, data in built.items():
        if data != golden[rel]:
            diff = difflib.unified_diff(
                golden[rel].decode("utf-8", "replace").splitlines(),
                data.decode("utf-8", "replace").splitlines(),
                f"golden/{rel}",
                f"built/{rel}",
                lineterm="",
            )
            raise AssertionError("\n".join(list(diff)[:60]))
