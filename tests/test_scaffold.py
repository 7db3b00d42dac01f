"""`digest init`: the files it makes, all-or-nothing refusal, and the GitHub Pages workflows."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from digest import scaffold
from digest.config import ClusterConfig, Config, SummaryConfig, load_config
from digest.scaffold import ScaffoldError, init_site
from tests.conftest import REPO, run_digest

SITE_FILES = {
    "digest.toml",
    f"content/{scaffold.EXAMPLE_SLUG}.md",
    "templates/README.md",
    ".gitignore",
    "requirements.txt",
    ".github/workflows/pages.yml",
}


def files_in(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


# -- what init creates ----------------------------------------------------------------------------


def test_init_creates_the_site_and_missing_folders(tmp_path: Path) -> None:
    site = tmp_path / "not" / "yet" / "there"
    created = init_site(site)
    assert {p.relative_to(site).as_posix() for p in created} == SITE_FILES
    assert files_in(site) == SITE_FILES
    assert all(p.is_file() for p in created)
    assert (site / "templates").is_dir()


def test_init_in_an_existing_folder_keeps_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "old.md").write_text("# old", encoding="utf-8")
    init_site(tmp_path)
    assert files_in(tmp_path) == SITE_FILES | {"notes.txt", "content/old.md"}
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_gitignore_ignores_output_and_cache(tmp_path: Path) -> None:
    init_site(tmp_path)
    lines = (tmp_path / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "site/" in lines
    assert ".digest-cache/" in lines


def test_example_article_has_full_front_matter(tmp_path: Path) -> None:
    init_site(tmp_path, today=date(2031, 5, 17))
    text = (tmp_path / "content" / f"{scaffold.EXAMPLE_SLUG}.md").read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert set(meta) >= {"title", "date", "source", "url", "tags"}
    assert meta["title"] == scaffold.EXAMPLE_TITLE
    assert str(meta["date"]).startswith("2031-05-17")
    assert meta["url"].startswith("https://example.org/")  # a documentation domain: no one's news
    assert isinstance(meta["tags"], list) and meta["tags"]
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    assert len(paragraphs) >= 3


# -- refusing to overwrite ------------------------------------------------------------------------


@pytest.mark.parametrize("existing", sorted(SITE_FILES))
def test_init_refuses_to_overwrite_and_creates_nothing(tmp_path: Path, existing: str) -> None:
    target = tmp_path / existing
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("mine\n", encoding="utf-8")
    with pytest.raises(ScaffoldError) as caught:
        init_site(tmp_path)
    assert existing in str(caught.value)
    assert files_in(tmp_path) == {existing}
    assert target.read_text(encoding="utf-8") == "mine\n"


def test_refusal_names_every_conflict(tmp_path: Path) -> None:
    (tmp_path / "digest.toml").write_text("", encoding="utf-8")
    (tmp_path / ".gitignore").write_text("", encoding="utf-8")
    with pytest.raises(ScaffoldError) as caught:
        init_site(tmp_path)
    assert "digest.toml" in str(caught.value) and ".gitignore" in str(caught.value)
    assert not (tmp_path / "content").exists()
    assert not (tmp_path / ".github").exists()


def test_init_refuses_when_a_needed_folder_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "content").write_text("not a folder", encoding="utf-8")
    with pytest.raises(ScaffoldError, match="content"):
        init_site(tmp_path)
    assert files_in(tmp_path) == {"content"}


def test_init_refuses_a_dangling_symlink(tmp_path: Path) -> None:
    (tmp_path / "digest.toml").symlink_to(tmp_path / "elsewhere.toml")
    with pytest.raises(ScaffoldError, match="digest.toml"):
        init_site(tmp_path)
    assert not (tmp_path / "elsewhere.toml").exists()


def test_a_failure_half_way_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = Path.open
    opened: list[Path] = []

    def failing_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(self)
        if len(opened) == 3:
            raise OSError(28, "No space left on device")
        return real_open(self, *args, **kwargs)

    (tmp_path / "mine.txt").write_text("kept", encoding="utf-8")
    monkeypatch.setattr(Path, "open", failing_open)
    with pytest.raises(ScaffoldError, match="No space left"):
        init_site(tmp_path / "new")
    assert len(opened) == 3
    assert files_in(tmp_path) == {"mine.txt"}
    assert not (tmp_path / "new").exists()


def test_init_refuses_a_file_as_the_site_folder(tmp_path: Path) -> None:
    (tmp_path / "site").write_text("", encoding="utf-8")
    with pytest.raises(ScaffoldError, match="not a folder"):
        init_site(tmp_path / "site")


def test_init_twice_from_the_command_line_fails_and_changes_nothing(tmp_path: Path) -> None:
    first = run_digest("init", "mysite", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = {p: (tmp_path / "mysite" / p).read_bytes() for p in SITE_FILES}
    second = run_digest("init", "mysite", cwd=tmp_path)
    assert second.returncode == 2
    assert "digest.toml" in second.stderr
    assert {p: (tmp_path / "mysite" / p).read_bytes() for p in SITE_FILES} == before


# -- the new site builds --------------------------------------------------------------------------


def test_new_site_builds_without_warnings(tmp_path: Path) -> None:
    assert run_digest("init", "news", cwd=tmp_path).returncode == 0
    site = tmp_path / "news"
    result = run_digest("build", "--strict", cwd=site)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    index = (site / "site" / "index.html").read_text(encoding="utf-8")
    assert scaffold.EXAMPLE_TITLE in index


def test_new_config_parses_to_the_defaults(tmp_path: Path) -> None:
    init_site(tmp_path)
    path = tmp_path / "digest.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    loaded = load_config(path, required=True)
    assert loaded.errors == [] and loaded.warnings == []
    assert loaded.config == Config()
    assert raw["base_url"] == ""  # the workflow passes it


def test_new_config_explains_every_key(tmp_path: Path) -> None:
    init_site(tmp_path)
    lines = (tmp_path / "digest.toml").read_text(encoding="utf-8").splitlines()
    keys = [f for f in Config.__dataclass_fields__ if f not in ("summary", "cluster")]
    keys += list(SummaryConfig.__dataclass_fields__) + list(ClusterConfig.__dataclass_fields__)
    for key in keys:
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{key} = "))
        assert lines[at - 1].startswith("# "), f"{key} has no comment above it"


# -- where the workflow installs digest from ------------------------------------------------------


def test_requirements_without_a_known_source_has_no_requirement(tmp_path: Path) -> None:
    text = scaffold.requirements_text(None)
    assert not [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert _install_guard_passes(tmp_path, text) is False


def test_requirements_with_a_known_source_pins_it(tmp_path: Path) -> None:
    requirement = "digest @ git+https://github.com/someone/digest@0123abcd"
    text = scaffold.requirements_text(requirement)
    assert requirement in text.splitlines()
    assert _install_guard_passes(tmp_path, text) is True


@pytest.mark.parametrize(
    ("direct_url", "expected"),
    [
        (
            {
                "url": "https://github.com/o/digest.git",
                "vcs_info": {"vcs": "git", "commit_id": "abc123", "requested_revision": "main"},
            },
            "digest @ git+https://github.com/o/digest.git@abc123",
        ),
        (
            {
                "url": "https://example.org/digest-0.1.0-py3-none-any.whl",
                "archive_info": {"hashes": {"sha256": "ff00"}},
            },
            "digest @ https://example.org/digest-0.1.0-py3-none-any.whl#sha256=ff00",
        ),
        ({"url": "file:///home/me/digest", "dir_info": {"editable": True}}, None),
        ({"url": "file:///tmp/digest-0.1.0-py3-none-any.whl", "archive_info": {}}, None),
        ({"url": "https://hg.example.org/digest", "vcs_info": {"vcs": "hg"}}, None),
    ],
)
def test_requirement_from_direct_url(direct_url: dict[str, Any], expected: str | None) -> None:
    assert scaffold.requirement_from_direct_url(direct_url) == expected


def _install_guard_passes(tmp_path: Path, requirements: str) -> bool:
    """Run the generated workflow's own guard (its grep) against a requirements.txt."""
    if shutil.which("grep") is None:
        pytest.skip("grep is not installed")
    step = _step(load_workflow(scaffold.pages_workflow(site=True)), "Install digest")
    match = re.search(r"grep -Eq ('[^']+') requirements\.txt", step["run"])
    assert match, "the install step must refuse a requirements.txt without a requirement"
    (tmp_path / "requirements.txt").write_text(requirements, encoding="utf-8")
    cmd = f"grep -Eq {match.group(1)} requirements.txt"
    result = subprocess.run(["sh", "-c", cmd], cwd=tmp_path, timeout=30)
    return result.returncode == 0


# -- the workflows --------------------------------------------------------------------------------


def load_workflow(text: str) -> dict[Any, Any]:
    workflow = yaml.safe_load(text)
    assert isinstance(workflow, dict)
    return workflow


def _step(workflow: dict[Any, Any], name: str) -> dict[str, Any]:
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    return next(s for s in steps if s.get("name") == name)


def _uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]


def check_pages_workflow(workflow: dict[Any, Any]) -> None:
    """What a GitHub Pages workflow for digest must have (the publishing contract)."""
    # YAML 1.1 reads the bare key `on` as True
    triggers = workflow.get("on", workflow.get(True))
    assert "push" in triggers and "workflow_dispatch" in triggers
    assert triggers["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["group"] == "pages"

    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert _uses(build)[:2] == ["actions/checkout", "actions/setup-python"]
    assert {"actions/configure-pages", "actions/upload-pages-artifact"} <= set(_uses(build))
    assert _uses(deploy) == ["actions/deploy-pages"]
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert build["permissions"]["pages"] in ("read", "write")  # configure-pages reads settings
    assert workflow["permissions"] == {"contents": "read"}

    configure = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/configure"))
    build_step = next(s for s in build["steps"] if "digest build" in s.get("run", ""))
    # the configure-pages output reaches --base-url, directly or through the step's env
    run = build_step["run"]
    for name, value in build_step.get("env", {}).items():
        run = run.replace(f"${name}", str(value)).replace(f"${{{name}}}", str(value))
    assert re.search(
        r"--base-url \"?\$\{\{ steps\." + re.escape(configure["id"]) + r"\.outputs\.base_url \}\}/",
        run,
    ), build_step["run"]

    steps = build["steps"]
    # the build cache is restored before the build (and saved after it, under this commit)
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".digest-cache"
    assert "github.sha" in cache["with"]["key"] and cache["with"]["restore-keys"]
    assert steps.index(cache) < steps.index(build_step)
    order = [steps.index(s) for s in (configure, build_step)]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages"))
    assert order[0] < order[1] < steps.index(upload)
    assert upload["with"]["path"] == "site"


def test_generated_workflow_publishes_to_pages(tmp_path: Path) -> None:
    init_site(tmp_path)
    text = (tmp_path / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8")
    workflow = load_workflow(text)
    check_pages_workflow(workflow)
    assert "requirements.txt" in _step(workflow, "Install digest")["run"]


def test_this_repository_publishes_its_own_content() -> None:
    text = (REPO / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8")
    workflow = load_workflow(text)
    check_pages_workflow(workflow)
    assert "pip install ." in _step(workflow, "Install digest")["run"]
    # both workflows come from one template, so a fix to one reaches the other
    assert text == scaffold.pages_workflow(site=False), (
        'regenerate with: python -c "from digest import scaffold; '
        "print(scaffold.pages_workflow(site=False), end='')\" > .github/workflows/pages.yml"
    )
