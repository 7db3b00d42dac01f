"""The site's configuration: typed, with a default for every key.

Loading never raises on a user's mistake: it returns the config it could make together with the
errors (the build must stop) and warnings (the build goes on) it found, each naming the key, in the
manner of MkDocs' config validation.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SUMMARY_ALGORITHMS = ("lexrank", "textrank", "lsa", "luhn", "edmundson", "kl", "sumbasic", "random")


@dataclass(frozen=True)
class SummaryConfig:
    sentences: int = 3
    algorithm: str = "lexrank"


@dataclass(frozen=True)
class ClusterConfig:
    window_days: float = 3.0  # same-event reports must lie this close in time
    threshold: float = 0.0  # 0 = the built-in threshold; otherwise a similarity in (0, 1]


@dataclass(frozen=True)
class Config:
    title: str = "Daily digest"
    description: str = "A daily digest of the news."
    base_url: str = (
        ""  # "" = site-relative links; else an absolute http(s) URL, may have a sub-path
    )
    timezone: str = "UTC"
    language: str = "en"
    cname: str = ""
    workers: int = 0  # 0 = one process per core
    summary: SummaryConfig = field(default_factory=SummaryConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def base_path(self) -> str:
        """The path part of base_url, always starting and ending with "/" ("/" when none)."""
        path = urlsplit(self.base_url).path if self.base_url else "/"
        return "/" + path.strip("/") + "/" if path.strip("/") else "/"

    def fingerprint(self) -> str:
        """A stable text of every setting that can change the output (a cache key part)."""
        return repr(dataclasses.asdict(self))


@dataclass
class LoadedConfig:
    config: Config
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load_config(
    path: Path | None, *, required: bool = False, base_url: str | None = None
) -> LoadedConfig:
    """Read ``path`` (TOML). A missing file gives the defaults unless ``required`` is set.

    ``base_url`` from the command line overrides the file's.
    """
    raw: dict[str, Any] = {}
    result = LoadedConfig(Config())
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if required:
                result.errors.append(f"{path}: config file not found")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            result.errors.append(f"{path}: not valid TOML: {exc}")
        except OSError as exc:
            result.errors.append(f"{path}: cannot read: {exc.strerror or exc}")
    if base_url is not None:
        raw["base_url"] = base_url
    result.config = _validate(raw, str(path or "config"), result)
    return result


def _validate(raw: dict[str, Any], origin: str, result: LoadedConfig) -> Config:
    def err(key: str, message: str) -> None:
        result.errors.append(f"{origin}: {key}: {message}")

    def take_str(table: dict[str, Any], key: str, default: str, prefix: str = "") -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            err(prefix + key, f"expected a string, got {type(value).__name__}")
            return default
        return value.strip()

    known_top = {f.name for f in dataclasses.fields(Config)}
    for key in raw:
        if key not in known_top:
            result.warnings.append(f"{origin}: unknown key {key!r} ignored")

    defaults = Config()
    title = take_str(raw, "title", defaults.title) or defaults.title
    description = take_str(raw, "description", defaults.description)
    language = take_str(raw, "language", defaults.language) or defaults.language
    cname = take_str(raw, "cname", defaults.cname)
    if "/" in cname or " " in cname:
        err("cname", f"{cname!r} is not a host name (like news.example.org)")
        cname = ""

    base_url = take_str(raw, "base_url", defaults.base_url)
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            err("base_url", f"{base_url!r} is not an absolute http(s) URL")
            base_url = ""
        elif parts.query or parts.fragment:
            err("base_url", f"{base_url!r} must not carry a query or fragment")
            base_url = ""
        else:
            base_url = base_url.rstrip("/") + "/"

    timezone = take_str(raw, "timezone", defaults.timezone) or defaults.timezone
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        err("timezone", f"unknown IANA time zone {timezone!r} (for example Europe/Berlin)")
        timezone = defaults.timezone

    workers = raw.get("workers", defaults.workers)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
        err("workers", f"expected a whole number >= 0, got {workers!r}")
        workers = defaults.workers

    summary = _validate_summary(raw.get("summary", {}), err, result, origin)
    cluster = _validate_cluster(raw.get("cluster", {}), err, result, origin)
    return Config(
        title=title,
        description=description,
        base_url=base_url,
        timezone=timezone,
        language=language,
        cname=cname,
        workers=workers,
        summary=summary,
        cluster=cluster,
    )


def _validate_summary(table: Any, err: Any, result: LoadedConfig, origin: str) -> SummaryConfig:
    defaults = SummaryConfig()
    if not isinstance(table, dict):
        err("summary", "expected a table ([summary])")
        return defaults
    _warn_unknown(table, SummaryConfig, "summary", result, origin)
    sentences = table.get("sentences", defaults.sentences)
    if not isinstance(sentences, int) or isinstance(sentences, bool) or not 1 <= sentences <= 50:
        err("summary.sentences", f"expected a whole number from 1 to 50, got {sentences!r}")
        sentences = defaults.sentences
    algorithm = table.get("algorithm", defaults.algorithm)
    if not isinstance(algorithm, str) or algorithm.lower() not in SUMMARY_ALGORITHMS:
        err("summary.algorithm", f"{algorithm!r} is not one of {', '.join(SUMMARY_ALGORITHMS)}")
        algorithm = defaults.algorithm
    return SummaryConfig(sentences=sentences, algorithm=algorithm.lower())


def _validate_cluster(table: Any, err: Any, result: LoadedConfig, origin: str) -> ClusterConfig:
    defaults = ClusterConfig()
    if not isinstance(table, dict):
        err("cluster", "expected a table ([cluster])")
        return defaults
    _warn_unknown(table, ClusterConfig, "cluster", result, origin)
    window = table.get("window_days", defaults.window_days)
    if isinstance(window, bool) or not isinstance(window, int | float) or not 0 < window <= 365:
        err("cluster.window_days", f"expected a number of days in (0, 365], got {window!r}")
        window = defaults.window_days
    threshold = table.get("threshold", defaults.threshold)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 <= threshold <= 1
    ):
        err("cluster.threshold", f"expected a number from 0 to 1, got {threshold!r}")
        threshold = defaults.threshold
    return ClusterConfig(window_days=float(window), threshold=float(threshold))


def _warn_unknown(
    table: dict[str, Any], cls: type, name: str, result: LoadedConfig, origin: str
) -> None:
    known = {f.name for f in dataclasses.fields(cls)}
    for key in table:
        if key not in known:
            result.warnings.append(f"{origin}: unknown key {name}.{key!r} ignored")
