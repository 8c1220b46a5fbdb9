"""Reading a scenario file safely: bounded size, nesting and alias expansion, plain text.

Whatever a file holds, reading it costs memory and time in proportion to its size: only
regular files up to ``MAX_BYTES`` are read (no FIFOs or devices), control characters are
refused with their line, nesting is capped at ``MAX_DEPTH`` and aliases may expand the
document to at most ``MAX_NODES`` nodes (a "billion laughs" file is refused, not
expanded). The map from field path to line visits every node once, however often
aliases reuse it. Problems are raised as ``ReadError`` (line and message); the loader
names the file. ``shown`` makes any text safe to print: control characters and terminal
escapes escaped, long values shortened.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]

MAX_BYTES = 16 * 2**20
"""Largest scenario file read (the bundled ones are under 20 kB)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (after aliases); the bundled files use 6."""
MAX_NODES = 1_000_000
"""Most values a file may stand for once its aliases are expanded."""
MAX_ALIASES = 10_000
"""Most alias uses (``*name``) in one file."""


class ReadError(ValueError):
    """A file that cannot be read as a scenario: its line (if known) and the problem."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        self.message = message
        super().__init__(message)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
_NAMES = {"\x00": "NUL", "\x07": "BEL", "\x08": "BS", "\x1b": "ESC", "\x7f": "DEL"}


def shown(value: object, limit: int = 80) -> str:
    """``value`` as printable text: control characters escaped, at most ``limit`` long.

    The middle of a long value is cut out, so a 1 MB value stays one line.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) > 4 * limit:
        text = text[: 2 * limit] + text[-2 * limit:]
    out = "".join(c if c == " " or unicodedata.category(c)[0] not in "CZ"
                  else c.encode("unicode_escape").decode("ascii") for c in text)
    if len(out) > limit:
        half = (limit - 5) // 2
        out = f"{out[:half]} ... {out[-half:]}"
    return out


def shown_repr(value: object, limit: int = 60) -> str:
    """A short, printable ``repr`` of a value, for "(got ...)" in messages."""
    return shown(repr(value), limit)


def check_path_text(text: str) -> None:
    """Refuse a file path with a NUL or another control character in it."""
    m = _CONTROL.search(text)
    if m:
        raise ReadError(f"the path contains a control character "
                        f"{shown(m.group())!s} ({_NAMES.get(m.group(), 'not printable')})")


def read_text(path: Path) -> str:
    """The UTF-8 text of a regular file of at most ``MAX_BYTES`` (``parse`` checks it)."""
    try:
        check_path_text(str(path))
        st = os.stat(path)
    except ReadError:
        raise
    except FileNotFoundError:
        raise ReadError("file not found") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ReadError("symlink loop: the link points back to itself") from None
        raise ReadError(f"cannot read file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ReadError("is a folder, not a scenario file")
    if not stat.S_ISREG(st.st_mode):
        raise ReadError("is not a regular file (a device, FIFO or socket); refusing to read it")
    if st.st_size > MAX_BYTES:
        raise ReadError(f"file is {st.st_size / 2**20:.1f} MiB; a scenario file may be at most "
                        f"{MAX_BYTES // 2**20} MiB")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ReadError(f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise ReadError(f"file is larger than {MAX_BYTES // 2**20} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - data.rfind(b"\n", 0, exc.start)
        raise ReadError(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at column {col})",
                        line) from None
    return text


def check_text(text: str) -> None:
    """Refuse control characters (NUL, ESC, BEL...) outside tabs and line ends."""
    m = _CONTROL.search(text)
    if m:
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - text.rfind("\n", 0, m.start())
        c = m.group()
        raise ReadError(f"control character {shown(c)} ({_NAMES.get(c, 'not printable')}) "
                        f"at column {col}; a scenario file is plain text", line)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the nesting depth and the alias uses counted."""

    def __init__(self, text: str):
        super().__init__(text)
        self.depth = 0
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node, refusing a nesting deeper than ``MAX_DEPTH``."""
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise ReadError(f"more than {MAX_ALIASES:,} aliases (*name)",
                                self.peek_event().start_mark.line + 1)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ReadError(f"nesting deeper than {MAX_DEPTH} levels",
                            self.peek_event().start_mark.line + 1)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _measure(root: yaml.Node) -> None:
    """Refuse an alias loop, or aliases expanding past ``MAX_NODES`` or ``MAX_DEPTH``.

    Each node is visited once (sizes are memoised), so a bomb costs its size to check.
    """
    done: dict[int, tuple[int, int]] = {}
    path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        if leaving:
            path.discard(key)
            kids = [done[id(c)] for c in _children(node)]
            size = 1 + sum(k[0] for k in kids)
            depth = 1 + max((k[1] for k in kids), default=0)
            line = node.start_mark.line + 1
            if size > MAX_NODES:
                raise ReadError(f"aliases expand this value to more than {MAX_NODES:,} "
                                "values (an alias bomb?)", line)
            if depth > MAX_DEPTH:
                raise ReadError(f"aliases nest this value deeper than {MAX_DEPTH} levels", line)
            done[key] = (size, depth)
        elif key in path:
            raise ReadError("an alias refers to the value that contains it (a loop)",
                            node.start_mark.line + 1)
        elif key not in done:
            path.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in _children(node))


def _key_of(node: yaml.Node) -> Any:
    return node.value if isinstance(node, yaml.ScalarNode) else f"<{node.tag}>"


def _walk(node: yaml.Node, path: Loc, lines: dict[Loc, int],
          dups: list[tuple[Loc, int]], seen: set[int]) -> None:
    """Record the line of every key and item; a node reused by an alias is not re-entered."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[Any] = set()
        for key_node, value_node in node.value:
            key = _key_of(key_node)
            here = (*path, key)
            if key in keys:
                dups.append((here, key_node.start_mark.line + 1))
            keys.add(key)
            lines[here] = key_node.start_mark.line + 1
            _walk(value_node, here, lines, dups, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            here = (*path, i)
            lines[here] = item.start_mark.line + 1
            _walk(item, here, lines, dups, seen)


def parse(text: str) -> tuple[Any, dict[Loc, int], list[tuple[Loc, int]]]:
    """Parse YAML text safely: the data, the line of every field path and duplicate keys.

    Raises ``ReadError`` for a syntax error, an empty document, too deep a nesting, an
    alias loop or bomb.
    """
    check_text(text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ReadError("the file is empty")
        _measure(node)
        lines: dict[Loc, int] = {}
        dups: list[tuple[Loc, int]] = []
        _walk(node, (), lines, dups, set())
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise ReadError(f"YAML syntax error: {shown(what, 200)}",
                        mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ReadError(f"YAML error: {shown(exc, 200)}") from None
    except ReadError:
        raise
    except (ValueError, OverflowError) as exc:  # e.g. an integer of a million digits
        raise ReadError(f"a value cannot be read: {shown(exc, 200)}") from None
    except RecursionError:
        raise ReadError(f"nesting too deep (more than {MAX_DEPTH} levels)") from None
    finally:
        loader.dispose()
    return data, lines, dups


def parse_value(text: str) -> Any:
    """A command-line value parsed as YAML (``1.5`` -> float), bounded like a file.

    Text that is not YAML stays text (``pooled`` -> str).
    """
    try:
        data, _, _ = parse(text) if text.strip() else (None, {}, [])
    except ReadError:
        return text
    return data
