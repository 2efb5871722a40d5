"""Line numbers for TOML keys: the map that lets every error say where it is.

Python's tomllib parses values but forgets where they were. This scanner walks the same
text once more and records, for every key path (``("services", "web", "tree", 0)``), the
line on which it starts. It never converts values: tomllib has already accepted the text,
so the scanner only has to find structure (headers, keys, arrays, inline tables).
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


class PositionMap:
    """Key path -> 1-based line number, with lookup falling back to the nearest parent.

    Built from a TOML text, it scans only when a line is first asked for: a valid file is
    never scanned, so loading a large configuration costs one tomllib parse.
    """

    def __init__(self, lines: dict[Path, int] | None = None, *, text: str | None = None) -> None:
        self._lines = lines
        self._text = text

    @property
    def lines(self) -> dict[Path, int]:
        if self._lines is None:
            self._lines = _scan(self._text or "")
            self._text = None
        return self._lines

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest recorded ancestor; None if nothing fits."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.out: dict[Path, int] = {}
        self.aot_count: dict[Path, int] = {}

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos:self.pos + n]

    def advance(self, n: int = 1) -> None:
        chunk = self.text[self.pos:self.pos + n]
        self.line += chunk.count("\n")
        self.pos += n

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_ws(self, newlines: bool = False) -> None:
        while not self.at_end():
            ch = self.peek()
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.advance()
            elif ch == "#":
                while not self.at_end() and self.peek() != "\n":
                    self.advance()
            else:
                return

    def record(self, path: Path) -> None:
        self.out.setdefault(path, self.line)

    # -- keys and strings -------------------------------------------------------------

    def string(self) -> str:
        quote = self.peek()
        if self.peek(3) == quote * 3:
            self.advance(3)
            end = self.text.find(quote * 3, self.pos)
            end = len(self.text) if end < 0 else end
            while self.text[end + 3:end + 4] == quote:
                end += 1
            value = self.text[self.pos:end]
            self.advance(end + 3 - self.pos)
            return value
        self.advance()
        buf = []
        while not self.at_end() and self.peek() != quote and self.peek() != "\n":
            if quote == '"' and self.peek() == "\\":
                buf.append(self.peek(2))
                self.advance(2)
                continue
            buf.append(self.peek())
            self.advance()
        self.advance()
        raw = "".join(buf)
        if quote == '"':
            try:
                raw = raw.encode("utf-8").decode("unicode_escape") if "\\" in raw else raw
            except UnicodeDecodeError:
                pass
        return raw

    def key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self.skip_ws()
            if self.peek() in ("'", '"'):
                parts.append(self.string())
            else:
                match = _BARE.match(self.text, self.pos)
                if not match:
                    return parts
                parts.append(match.group(0))
                self.advance(match.end() - self.pos)
            self.skip_ws()
            if self.peek() != ".":
                return parts
            self.advance()

    # -- values -----------------------------------------------------------------------

    def value(self, path: Path) -> None:
        self.skip_ws()
        ch = self.peek()
        if ch in ("'", '"'):
            self.string()
        elif ch == "[":
            self.advance()
            index = 0
            while not self.at_end():
                self.skip_ws(newlines=True)
                if self.peek() == "]":
                    self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    continue
                self.record(path + (index,))
                self.value(path + (index,))
                index += 1
        elif ch == "{":
            self.advance()
            while not self.at_end():
                self.skip_ws(newlines=True)
                if self.peek() == "}":
                    self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    continue
                self.keyval(path)
        else:
            while not self.at_end() and self.peek() not in ",]}\n#":
                self.advance()

    def keyval(self, table: Path) -> None:
        start = self.line
        parts = self.key()
        if not parts:
            self.advance()  # not a key: step over one character, tomllib already judged it
            return
        path = table + tuple(parts)
        self.out.setdefault(path, start)
        self.skip_ws()
        if self.peek() == "=":
            self.advance()
            self.value(path)

    def header(self) -> Path:
        array = self.peek(2) == "[["
        self.advance(2 if array else 1)
        parts = tuple(self.key())
        self.skip_ws()
        self.advance(2 if array else 1)
        if array:
            # an array of tables: index relative to the parent path's own indexes
            parent = self._resolve(parts[:-1])
            base = parent + (parts[-1],)
            index = self.aot_count.get(base, 0)
            self.aot_count[base] = index + 1
            path = base + (index,)
        else:
            path = self._resolve(parts)
        self.out.setdefault(path, self.line)
        return path

    def _resolve(self, parts: tuple[str, ...]) -> Path:
        """Insert the current index after each prefix that names an array of tables."""
        path: Path = ()
        for part in parts:
            path = path + (part,)
            if path in self.aot_count:
                path = path + (self.aot_count[path] - 1,)
        return path

    def run(self) -> dict[Path, int]:
        table: Path = ()
        while not self.at_end():
            self.skip_ws(newlines=True)
            if self.at_end():
                break
            if self.peek() == "[":
                table = self.header()
            else:
                self.keyval(table)
        return self.out


def scan_positions(text: str) -> PositionMap:
    """Map every key path in a TOML text to its line (scanned lazily). Never raises."""
    return PositionMap(text=text)


def _scan(text: str) -> dict[Path, int]:
    scanner = _Scanner(text)
    try:
        return scanner.run()
    except (IndexError, ValueError, RecursionError):
        return scanner.out
