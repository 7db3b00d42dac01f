"""An extractive, multi-document summary of a story with sumy; each sentence keeps its article.

Interface (build.py relies on it):
- ``summarize_story(articles: Sequence[Article], config: SummaryConfig, language: str)
  -> tuple[SummarySentence, ...]``
- ``story_title(articles: Sequence[Article]) -> str``
"""
