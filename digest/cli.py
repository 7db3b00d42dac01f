"""Command-line interface: argument parsing and exit codes only; the work is in build/serve/init."""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from digest import __version__

log = logging.getLogger("digest")

EXIT_OK, EXIT_WARNINGS, EXIT_FATAL = 0, 1, 2
# The cyclic garbage collector's pace for `digest build` (Python's default: 700, 10, 10). A build
# makes hundreds of thousands of objects that live until it ends (articles, cache entries) and
# hardly any reference cycles, so at the default pace the collector walked them all again and
# again: ~0.12 s, a tenth of a one-article edit. The process ends with the build.
BUILD_GC_THRESHOLDS = (50_000, 20, 100)


def _add_build_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="config file (default: ./digest.toml when it exists; every key has a default). "
        "content/, templates/ and .digest-cache/ are looked up beside it",
    )
    parser.add_argument(
        "--content", metavar="DIR", type=Path, help="folder of articles (default: ./content)"
    )
    parser.add_argument(
        "--output",
        metavar="DIR",
        type=Path,
        help="where the site is written (default: ./site); replaced as a whole on success",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="absolute URL the site is published at, e.g. https://user.github.io/repo/ "
        "(overrides base_url in the config)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when there were warnings"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="ignore and do not update .digest-cache/"
    )
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    loudness.add_argument("-v", "--verbose", action="store_true", help="print timings and details")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest",
        description="Build a static site of daily news digests from a folder of articles.",
        epilog="Exit status: 0 success (warnings allowed), 1 warnings with --strict, 2 fatal.",
    )
    parser.add_argument("--version", action="version", version=f"digest {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser(
        "build",
        help="build the site",
        description="Read content/, group articles into stories, summarize them and write the "
        "site: one digest page per day, archive, feeds, sitemap and digest.json.",
    )
    _add_build_flags(build)

    serve = commands.add_parser(
        "serve",
        help="build, serve and rebuild on every change (live reload)",
        description="Build the site, serve it over HTTP, watch content, templates and config, "
        "rebuild what changed and reload open browser pages.",
    )
    _add_build_flags(serve)
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--poll",
        action="store_true",
        help="poll for changes instead of native file events (network and container mounts)",
    )

    init = commands.add_parser(
        "init",
        help="create a new site ready for GitHub Pages",
        description="Create digest.toml, content/ with an example article, templates/, .gitignore "
        "and a GitHub Pages workflow. Existing files are never overwritten.",
    )
    init.add_argument("dir", nargs="?", type=Path, default=Path("."), help="folder (default: .)")
    return parser


def build_options(args: argparse.Namespace):  # -> BuildOptions (imported lazily: fast --help)
    from digest.build import BuildOptions

    site_dir = args.config.parent if args.config is not None else Path(".")
    return BuildOptions(
        config_path=args.config,
        content_dir=args.content if args.content is not None else site_dir / "content",
        output_dir=args.output if args.output is not None else site_dir / "site",
        base_url=args.base_url,
        use_cache=not args.no_cache,
        site_dir=site_dir,
    )


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.INFO
    if getattr(args, "quiet", False):
        level = logging.WARNING
    elif getattr(args, "verbose", False):
        level = logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


class _Formatter(logging.Formatter):
    """Plain lines for information, a "warning:"/"error:" prefix for problems."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            return f"error: {message}"
        if record.levelno >= logging.WARNING:
            return f"warning: {message}"
        return message


def run_build(args: argparse.Namespace) -> int:
    from digest.build import Builder, BuildError
    from digest.views import plural

    options = build_options(args)
    gc.set_threshold(*BUILD_GC_THRESHOLDS)
    try:
        report = Builder(options).build()
    except BuildError as exc:
        log.error("%s", exc)
        log.error("build failed; %s was left as it was", options.output_dir)
        return EXIT_FATAL
    for warning in report.warnings:
        log.warning("%s", warning)
    log.info(
        "built %s into %s over %s in %.2fs -> %s (%d files written, %d unchanged)",
        plural(report.articles, "article"),
        plural(report.stories, "story", "stories"),
        plural(report.days, "day"),
        report.seconds,
        options.output_dir,
        report.written,
        report.unchanged,
    )
    log.debug("timings: %s", ", ".join(f"{k} {v:.3f}s" for k, v in report.timings.items()))
    if report.pages_kept:
        log.debug("%d pages kept without rendering: made from the same inputs", report.pages_kept)
    if report.warnings:
        log.info("%d warnings", len(report.warnings))
        if args.strict:
            log.error("%d warnings with --strict", len(report.warnings))
            return EXIT_WARNINGS
    return EXIT_OK


def run_serve(args: argparse.Namespace) -> int:
    from digest.serve import serve

    return serve(
        build_options(args), host=args.host, port=args.port, poll=args.poll, strict=args.strict
    )


def run_init(args: argparse.Namespace) -> int:
    from digest.scaffold import ScaffoldError, init_site

    try:
        created = init_site(args.dir)
    except ScaffoldError as exc:
        log.error("%s", exc)
        return EXIT_FATAL
    for path in created:
        log.info("created %s", path)
    log.info("next: cd %s && digest build, then digest serve to preview", args.dir)
    return EXIT_OK


def run() -> None:
    """The ``digest`` command: ``main``, then out of the process without tearing it down.

    Everything a command writes is written and closed when ``main`` returns; what Python's exit
    would add is freeing every object of a build one by one (~0.15 s after a build of 6,000
    articles, a tenth of a rebuild after an edit). So streams and log handlers are flushed and
    the process ends at once, with ``main``'s exit code (unless a profiler or tracer runs).
    """
    code = main()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)  # a profiler or a coverage tracer writes its report at exit
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (digest build | head) has nothing left to keep.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    _setup_logging(args)
    handlers = {"build": run_build, "serve": run_serve, "init": run_init}
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        return 130
