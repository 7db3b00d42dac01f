"""The compiled templates kept between processes (templatecode.CompiledTemplates)."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from digest.render import make_environment
from digest.templatecode import CompiledTemplates


def _env(theme: Path, cache: Path, prefix: str = "code1") -> jinja2.Environment:
    return make_environment([theme], CompiledTemplates(cache, prefix))


def _never_compile(env: jinja2.Environment, monkeypatch: pytest.MonkeyPatch) -> None:
    def compile_(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled although its code was kept")

    monkeypatch.setattr(env, "compile", compile_)


@pytest.fixture
def theme(tmp_path: Path) -> Path:
    folder = tmp_path / "theme"
    folder.mkdir()
    (folder / "page.html").write_text("<p>{{ word }}</p>\n")
    return folder


def test_a_second_environment_loads_the_code_instead_of_compiling(
    theme: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    assert _env(theme, cache).get_template("page.html").render(word="one") == "<p>one</p>\n"
    assert len(list(cache.iterdir())) == 1
    again = _env(theme, cache)
    _never_compile(again, monkeypatch)
    assert again.get_template("page.html").render(word="<b>") == "<p>&lt;b&gt;</p>\n"


def test_a_new_build_renders_from_kept_code_what_a_build_without_cache_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest.build import Builder, BuildOptions
    from tests.test_build import cached_site, files_of

    options = cached_site(tmp_path / "site", 12)
    kept = sorted(p.name for p in (tmp_path / "site" / ".digest-cache" / "templates").iterdir())
    assert len(kept) >= 5  # the default theme's pages, feeds and files
    (tmp_path / "site" / "site").rename(tmp_path / "first")

    def compile_(*args: object, **kwargs: object) -> None:
        raise AssertionError("a template compiled although its code was kept")

    monkeypatch.setattr(jinja2.Environment, "compile", compile_)
    Builder(options, workers=1).build()  # a new process's builder: every page rendered again
    monkeypatch.undo()
    uncached = BuildOptions(
        content_dir=options.content_dir,
        output_dir=tmp_path / "uncached",
        site_dir=tmp_path / "elsewhere",
        use_cache=False,
    )
    Builder(uncached, workers=1).build()
    assert not (tmp_path / "elsewhere").exists()
    assert files_of(options.output_dir) == files_of(tmp_path / "uncached")


def test_an_edited_template_is_compiled_again(theme: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _env(theme, cache).get_template("page.html")
    (theme / "page.html").write_text("<div>{{ word }}</div>\n")
    assert _env(theme, cache).get_template("page.html").render(word="w") == "<div>w</div>\n"


@pytest.mark.parametrize(
    "damage",
    [b"", b"garbage", None],  # empty, not Jinja's, and the right head with broken code
)
def test_a_damaged_file_is_compiled_again_and_rewritten(
    theme: Path, tmp_path: Path, damage: bytes | None
) -> None:
    cache = tmp_path / "cache"
    _env(theme, cache).get_template("page.html")
    (kept,) = cache.iterdir()
    good = kept.read_bytes()
    kept.write_bytes(good[: good.index(b"\n") + 1] + b"\xff\x00" if damage is None else damage)
    assert _env(theme, cache).get_template("page.html").render(word="ok") == "<p>ok</p>\n"
    assert kept.read_bytes() == good


def test_code_of_another_prefix_is_not_loaded_and_pruned(
    theme: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    _env(theme, cache, "old").get_template("page.html")
    (cache / "notes.txt").write_text("not ours")
    other = _env(theme, cache, "new")
    compiled: list[str] = []
    real = other.compile

    def counting(source: str, name: str | None = None, *args: object, **kw: object) -> object:
        compiled.append(str(name))
        return real(source, name, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(other, "compile", counting)
    other.get_template("page.html")
    assert compiled == ["page.html"]
    code = other.bytecode_cache
    assert isinstance(code, CompiledTemplates)
    code.prune()
    assert sorted(p.name.split("-")[0] for p in cache.iterdir()) == ["new", "notes.txt"]
    code.clear()
    assert [p.name for p in cache.iterdir()] == ["notes.txt"]


def test_a_folder_that_cannot_be_written_is_only_a_miss(theme: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder would be")
    env = _env(theme, blocker / "cache")
    assert env.get_template("page.html").render(word="x") == "<p>x</p>\n"
