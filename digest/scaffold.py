"""``digest init``: scaffold a new site that builds at once and publishes to GitHub Pages.

The files are string constants rather than package data so the scaffold can never go missing
from an installed wheel. Creation is all-or-nothing: when any file would overwrite something,
nothing is written and the error names every conflict.

How a site's workflow installs digest: digest is not on PyPI (the PyPI project called "digest"
is an unrelated tool), so the site's ``requirements.txt`` says where it comes from. When the
running digest was installed from a Git URL or a downloadable wheel (PEP 610 ``direct_url.json``)
that exact, pinned source is written; otherwise the file explains what to write, and the
workflow stops with an error naming the file instead of installing the wrong package.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import fields
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

from digest.config import ClusterConfig, Config, SummaryConfig

log = logging.getLogger("digest")

PYTHON_VERSION = "3.11"  # the workflow's Python: the oldest the package supports
EXAMPLE_SLUG = "welcome-to-your-digest"
EXAMPLE_TITLE = "Welcome to your new daily digest"


class ScaffoldError(Exception):
    """The site cannot be created; nothing was written."""


# -- the public entry point -----------------------------------------------------------------------


def init_site(directory: Path, *, today: date | None = None) -> list[Path]:
    """Create a new site in ``directory`` (made when missing); return the files created.

    Raises ScaffoldError, having written nothing, when any of the files exists already.
    """
    directory = Path(directory)
    files = site_files(today or date.today(), digest_requirement())
    _check_free(directory, files)
    created = _write_all(directory, files)
    if not _has_requirement(files["requirements.txt"]):
        log.warning(
            "%s does not say where to install digest from yet; the GitHub Pages workflow stops "
            "until it does (see the comments in it)",
            directory / "requirements.txt",
        )
    return created


def site_files(today: date, requirement: str | None) -> dict[str, str]:
    """Every file of a new site: relative POSIX path -> text."""
    return {
        "digest.toml": config_text(),
        f"content/{EXAMPLE_SLUG}.md": example_article(today),
        "templates/README.md": TEMPLATES_README,
        ".gitignore": GITIGNORE,
        "requirements.txt": requirements_text(requirement),
        ".github/workflows/pages.yml": pages_workflow(site=True),
    }


# -- writing --------------------------------------------------------------------------------------


def _check_free(directory: Path, files: dict[str, str]) -> None:
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} exists and is not a folder")
    conflicts = sorted({c for rel in files for c in _conflicts(directory, rel)})
    if conflicts:
        raise ScaffoldError(
            f"{directory} already holds a site's files; refusing to overwrite "
            f"{', '.join(conflicts)} (nothing was created)"
        )


def _conflicts(directory: Path, rel: str) -> list[str]:
    """``rel`` itself when it exists, or a parent of it that exists and is not a folder."""
    parts = rel.split("/")
    for depth in range(1, len(parts)):
        parent = directory.joinpath(*parts[:depth])
        if parent.exists() and not parent.is_dir():
            return ["/".join(parts[:depth])]
    target = directory / rel
    # lexists: a dangling symlink would still be followed (and written through) by open()
    return [rel] if os.path.lexists(target) else []


def _write_all(directory: Path, files: dict[str, str]) -> list[Path]:
    made_dirs: list[Path] = []
    created: list[Path] = []
    try:
        _make_dirs(directory, made_dirs)
        for rel, text in files.items():
            target = directory / rel
            _make_dirs(target.parent, made_dirs)
            # "x": never overwrite, even a file that appeared since the check
            with target.open("x", encoding="utf-8", newline="\n") as f:
                created.append(target)
                f.write(text)
    except OSError as exc:
        _undo(created, made_dirs)
        raise ScaffoldError(f"cannot create the site in {directory}: {exc}") from exc
    return created


def _make_dirs(folder: Path, made: list[Path]) -> None:
    """Create ``folder`` and its missing parents, remembering each one made (to undo)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
        made.append(path)


def _undo(created: list[Path], made_dirs: list[Path]) -> None:
    for path in created:
        path.unlink(missing_ok=True)
    for folder in reversed(made_dirs):
        # not empty: something else was put there meanwhile; leave it
        with contextlib.suppress(OSError):
            folder.rmdir()


# -- digest.toml ----------------------------------------------------------------------------------

# Why each key exists; the value written is always the default, so a new site behaves exactly as
# one without a config file until the user changes something.
_KEY_NOTES: dict[str, str] = {
    "title": "Shown on every page and in the feeds.",
    "description": "One sentence for the front page, the feeds and search engines.",
    "base_url": (
        "The absolute URL the site is published at, e.g. https://you.github.io/news/\n"
        "Leave it empty: the GitHub Pages workflow passes the right one with --base-url,\n"
        "and an empty value makes every link site-relative (fine for digest serve)."
    ),
    "timezone": (
        "IANA time zone (e.g. Europe/Berlin) that decides which day an article belongs to,\n"
        "and how dates without an offset are read."
    ),
    "language": (
        "Language of the site and its articles (en, de, fr, ...): the pages' language and\n"
        "the summarizer's stop words."
    ),
    "cname": (
        "Custom domain (e.g. news.example.org); writes a CNAME file. Empty: none.\n"
        "Set the same domain in the repository's Settings > Pages."
    ),
    "workers": "Processes used to read and summarize; 0 = one per CPU core.",
    "summary.sentences": "How many sentences each story's summary has (1-50).",
    "summary.algorithm": (
        "lexrank, textrank, lsa, luhn, edmundson, kl, sumbasic or random (see sumy)."
    ),
    "cluster.window_days": (
        "Reports of the same event must lie at most this many days apart to form one story."
    ),
    "cluster.threshold": (
        "How similar two reports must be to join one story, in (0, 1]; 0 = the built-in value.\n"
        "Raise it if unrelated reports get merged, lower it if copies of one report stay apart.\n"
        'An article\'s front matter key "story" pins it to a story whatever this says.'
    ),
}

_CONFIG_HEADER = """\
# digest.toml: the settings of this digest site. Every key is optional; the values below are
# the defaults. Documentation of a key sits above it.
"""


def config_text() -> str:
    """The commented digest.toml of a new site, written from the config defaults."""
    parts = [_CONFIG_HEADER]
    parts += _table_lines(Config(), "")
    for name, value in (("summary", SummaryConfig()), ("cluster", ClusterConfig())):
        parts.append(f"\n[{name}]\n")
        parts += _table_lines(value, name + ".")
    return "".join(parts)


def _table_lines(obj: Any, prefix: str) -> list[str]:
    lines = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, SummaryConfig | ClusterConfig):
            continue  # written as its own table
        note = _KEY_NOTES[prefix + f.name]
        lines.append("\n" + "".join(f"# {line}\n" for line in note.splitlines()))
        lines.append(f"{f.name} = {_toml_value(value)}\n")
    return lines


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # JSON string escapes are valid TOML basic-string escapes
    return json.dumps(str(value), ensure_ascii=False)


# -- the example article --------------------------------------------------------------------------


def example_article(today: date) -> str:
    return f"""\
---
title: "{EXAMPLE_TITLE}"
date: {today.isoformat()}T08:00:00+00:00
source: "The digest desk"
url: "https://example.org/news/{EXAMPLE_SLUG}"
tags: [digest, getting-started]
---

This site was created a moment ago by `digest init`. From now on it shows the news you collect
as a daily digest: reports of the same event are grouped into one story, and every story gets a
short summary made of sentences taken from the reports themselves, each linked to its source.

Adding news is a matter of saving files. Put each article in the `content` folder, either as
Markdown with a short header like the one at the top of this file, or as plain text copied from a
news page. Folders inside `content` may be nested as deeply as you like, for example one per
month.

The header tells digest what it cannot guess. The title and the date place the article on the
right day, the source names the outlet, and the url sends readers to the original report. Tags
are optional. When two articles must always form one story, give both the same `story` value.

Publishing happens on GitHub Pages. Every push to the main branch runs the workflow in
`.github/workflows/pages.yml`, which builds the site and deploys it. Before the first push, choose
GitHub Actions as the source in the repository's Pages settings, and make sure
`requirements.txt` says where the workflow installs digest from.

To preview the site on your own machine, run `digest serve` in this folder and open the address
it prints. Open pages reload by themselves whenever an article, a template or `digest.toml`
changes. Delete this article whenever you like.
"""


# -- small files ----------------------------------------------------------------------------------

TEMPLATES_README = """\
# Theme overrides

A file in this folder replaces the default theme's file of the same name (and path), so you
copy only the templates you want to change. To see the default theme, list the `templates`
folder of the installed package:

    python -c "import digest, pathlib; print(pathlib.Path(digest.__file__).parent / 'templates')"

Copy a file from there into this folder, keeping its name, and edit the copy. The templates are
Jinja; a template may extend or include the default theme's other files by name. Delete a copy
to go back to the default. `digest serve` re-renders the pages whenever a file here changes.
"""

GITIGNORE = """\
# Written by `digest build` / `digest serve`: the published copy is built by the workflow.
site/
# The build cache (summaries and parsed articles); safe to delete at any time.
.digest-cache/
__pycache__/
"""


def digest_requirement() -> str | None:
    """The pip requirement that reinstalls the running digest elsewhere, when it is knowable."""
    try:
        raw = metadata.distribution("digest").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not raw:
        return None  # installed from an index, or from a local build with no URL
    try:
        return requirement_from_direct_url(json.loads(raw))
    except (ValueError, AttributeError):
        return None


def requirement_from_direct_url(direct_url: dict[str, Any]) -> str | None:
    """A requirement for a PEP 610 record, or None when the source is only on this machine."""
    url = str(direct_url.get("url", ""))
    if not url.startswith(("https://", "http://", "ssh://")):
        return None  # file:// (a checkout or a wheel on this disk) is unreachable from CI
    vcs = direct_url.get("vcs_info")
    if isinstance(vcs, dict):
        if vcs.get("vcs") != "git":
            return None
        commit = vcs.get("commit_id")
        # the exact commit, not the branch or tag asked for: the workflow builds what you tested
        requirement = f"digest @ git+{url}" + (f"@{commit}" if commit else "")
        subdirectory = direct_url.get("subdirectory")
        return requirement + (f"#subdirectory={subdirectory}" if subdirectory else "")
    if isinstance(direct_url.get("archive_info"), dict):
        digest_hash = direct_url["archive_info"].get("hashes", {}).get("sha256")
        return f"digest @ {url}" + (f"#sha256={digest_hash}" if digest_hash else "")
    return None


_REQUIREMENTS_HEADER = """\
# Where the GitHub Pages workflow installs digest from (pip requirements format; more
# requirement lines, such as plugins, may follow).
#
# digest is not installed from PyPI by name: the PyPI project called "digest" is an unrelated
# tool, so a bare `digest` line would install the wrong program. Name the source instead and pin
# it, so the published site is built by the version you tested, for example:
#   digest @ git+https://github.com/<owner>/<repository>@<tag or commit>
#   digest @ https://<host>/<path>/digest-<version>-py3-none-any.whl
"""


def requirements_text(requirement: str | None) -> str:
    if requirement:
        note = "# Written by `digest init` from where this copy of digest was installed from:\n"
        return f"{_REQUIREMENTS_HEADER}\n{note}{requirement}\n"
    note = (
        "# `digest init` could not tell where this copy of digest came from (it was installed\n"
        "# from a folder or file on that machine). The workflow stops with an error until a\n"
        "# requirement line is added below.\n"
    )
    return f"{_REQUIREMENTS_HEADER}\n{note}"


def _has_requirement(requirements: str) -> bool:
    return any(
        line.strip() and not line.lstrip().startswith("#") for line in requirements.split("\n")
    )


# -- the GitHub Pages workflow --------------------------------------------------------------------

_SITE_INSTALL = """\
      - name: Install digest
        # requirements.txt names where digest comes from (it is not on PyPI; see the file).
        run: |
          if ! grep -Eq '^[[:space:]]*[^#[:space:]]' requirements.txt; then
            echo "::error file=requirements.txt::add the requirement that installs digest"
            exit 1
          fi
          python -m pip install -r requirements.txt
          digest --version
"""

_REPO_INSTALL = """\
      - name: Install digest
        # This repository is digest itself: install the checked-out version.
        run: |
          python -m pip install .
          digest --version
"""


def pages_workflow(*, site: bool) -> str:
    """The GitHub Pages workflow: for a site made by init, or (site=False) for digest's own repo.

    Both share everything but how digest is installed, so they cannot drift apart in the rest.
    """
    install = _SITE_INSTALL if site else _REPO_INSTALL
    cache_key_file = "requirements.txt" if site else "pyproject.toml"
    return _WORKFLOW.format(
        python=PYTHON_VERSION, install=install.rstrip("\n"), cache_key_file=cache_key_file
    )


_WORKFLOW = """\
# Builds the digest in content/ and publishes it on GitHub Pages.
# One-time setup: in the repository's Settings > Pages, set "Source" to "GitHub Actions".
name: Publish to GitHub Pages

on:
  push:
    branches: [main]
  workflow_dispatch:

# Nothing by default; each job asks for what it needs.
permissions:
  contents: read

# One deployment at a time; a running one is allowed to finish (a half-published site is worse
# than a late one).
concurrency:
  group: pages
  cancel-in-progress: false

jobs:
  build:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pages: read  # configure-pages reads the Pages settings (the published URL)
    steps:
      - name: Check out
        uses: actions/checkout@v4

      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "{python}"
          cache: pip
          cache-dependency-path: {cache_key_file}

{install}

      - name: Configure Pages
        id: pages
        uses: actions/configure-pages@v5

      - name: Restore the build cache
        # .digest-cache/ holds each article's cleaned text, clustering features and each story's
        # summary, keyed by content: a push that adds a few articles only does their work. Saved
        # under this commit, restored from the newest one before it.
        uses: actions/cache@v4
        with:
          path: .digest-cache
          key: digest-cache-${{{{ github.sha }}}}
          restore-keys: digest-cache-

      - name: Build the site
        # The published URL (with the repository's sub-path, or the custom domain) makes feeds,
        # the sitemap and every link absolute and correct.
        env:
          BASE_URL: ${{{{ steps.pages.outputs.base_url }}}}
        run: digest build --base-url "$BASE_URL/"

      - name: Upload the site
        uses: actions/upload-pages-artifact@v3
        with:
          path: site

  deploy:
    needs: build
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pages: write  # to deploy to Pages
      id-token: write  # to prove the deployment comes from this workflow
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - name: Deploy to GitHub Pages
        id: deployment
        uses: actions/deploy-pages@v4
"""
