"""The theme's templates compiled once, kept in the site's cache: a new process loads their code.

Compiling the default theme's templates costs a fresh ``digest build`` ~50 ms; loading the code
Jinja compiled them to costs ~3 ms. Jinja names each template's code by the template's name and
file (``Bucket.key``) and checks it against a hash of the source (``Bucket.checksum``): a theme
edit compiles that template again. Jinja's magic header, checked too, names Jinja's format and
Python's version; what neither says (digest's environment options, Jinja's release) is in the
file name's prefix, the code fingerprint, so other code never loads it.

The files are read the way Python reads ``__pycache__``: code from the site's own folder is
trusted as that folder's templates are. A file that cannot be read or is damaged is compiled
again and rewritten, never an error.
"""

from __future__ import annotations

import contextlib
import marshal
import os
from collections.abc import Callable
from pathlib import Path
from types import CodeType

import jinja2
from jinja2.bccache import Bucket, bc_magic

from digest.cache import atomic_path

SUFFIX = ".code"


class CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled templates in ``folder``, each file named ``{prefix}-{key}.code``."""

    def __init__(self, folder: Path, prefix: str) -> None:
        self.folder = folder
        self.prefix = prefix

    def _path(self, bucket: Bucket) -> Path:
        return self.folder / f"{self.prefix}-{bucket.key}{SUFFIX}"

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            data = self._path(bucket).read_bytes()
        except OSError:  # none yet
            return
        # Jinja's own layout pickles the checksum; this one has no pickle: magic, checksum, code.
        head = bc_magic + bucket.checksum.encode("ascii") + b"\n"
        if not data.startswith(head):  # other source, other Jinja, or damaged: compile again
            return
        try:
            code = marshal.loads(data[len(head) :])
        except (EOFError, ValueError, TypeError):
            return
        if isinstance(code, CodeType):
            bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is None:
            return
        data = bc_magic + bucket.checksum.encode("ascii") + b"\n" + marshal.dumps(bucket.code)
        with contextlib.suppress(OSError):  # only an optimisation missed
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(self._path(bucket)) as tmp, open(tmp, "wb") as out:
                out.write(data)

    def clear(self) -> None:
        """Remove this prefix's files."""
        self._remove(lambda name: name.startswith(self.prefix + "-"))

    def prune(self) -> None:
        """Remove the files of other prefixes (other code): no build will load them again."""
        self._remove(lambda name: not name.startswith(self.prefix + "-"))

    def _remove(self, chosen: Callable[[str], bool]) -> None:
        try:
            names = os.listdir(self.folder)
        except OSError:
            return
        for name in names:
            if name.endswith(SUFFIX) and chosen(name):
                with contextlib.suppress(OSError):
                    os.unlink(self.folder / name)
