"""Page furniture out, the article's own text kept.

Interface (build.py relies on it):
- ``clean_article(article: Article) -> Article``: per-article cleaning of body and text.
- ``remove_recurring_lines(articles: Sequence[Article]) -> list[Article]``: corpus pass: a line
  that recurs in several articles of one source is that source's furniture. Same order out as in.
"""
