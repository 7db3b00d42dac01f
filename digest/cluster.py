"""Wire copies and same-event reports -> groups of articles (stories).

Interface (build.py relies on it):
- ``cluster_articles(articles: Sequence[Article], config: ClusterConfig) -> list[list[int]]``:
  groups of indices into ``articles``; every index in exactly one group; deterministic order
  (groups ordered by their smallest index, indices ascending). ``Article.story`` pins override.
"""
