"""Readers by file kind -> Article; metadata from front matter or from the text itself.

Interface (build.py relies on it):
- ``discover(content_dir: Path) -> list[Path]``: article files (.md, .markdown, .txt) at any depth,
  sorted by relative POSIX path; hidden files and folders skipped; symlinks leading outside
  content_dir skipped.
- ``read_article(path: Path, content_dir: Path, tz: tzinfo) -> ReadResult``: never raises on bad
  input. ``tz`` interprets dates that carry no offset.
- ``article_id(rel_path: str) -> str``: stable id made from the relative path.
"""
