"""Jinja environment, url helper, Markdown via markdown-it-py: Site -> files.

Interface (build.py relies on it):
- ``render_site(site: Site, config: Config, template_dirs: Sequence[Path]) -> dict[str, bytes]``:
  every output file (relative POSIX path -> bytes) except those build.py writes itself.
- ``article_link(article: Article) -> str``: the original URL, else the local page's
  site-relative path.
"""
