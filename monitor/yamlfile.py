"""Safe YAML loading that remembers where each value came from.

Files people edit (config, watchlists) are read with `yaml.SafeLoader` only: no Python
objects, no tags beyond the safe ones. Mappings come back as `YDict` and sequences as
`YList`, which behave like dict and list but know the line (1-based) of every key and
item, so errors can say `file:line: message`.

Bounds, so that no file can stall or exhaust the process that reads it (each refusal is a
ConfigError naming the file and, where there is one, the line):
- a file holds at most `MAX_BYTES` (4 MiB) of text;
- lists and mappings nest at most `MAX_DEPTH` (50) levels deep, counted while the
  document is composed, long before Python's recursion limit; an alias counts as deep as
  the value it stands for;
- aliases (`*name`) are welcome, but the document they expand to holds at most
  `MAX_VALUES` (200,000) values and `MAX_TEXT` (8 million) characters of text, counting
  every alias as a copy of its anchor's value ("billion laughs" are refused, not expanded);
  an alias inside the value it refers to is refused;
- a value a tag or its look promises but does not deliver (`2024-02-30` read as a date, an
  integer of 5,000 digits, bad `!!binary`) is an error naming its line, never a traceback.

Any other exception the YAML library raises becomes a ConfigError as well: loading either
returns a value or raises ConfigError. libyaml (bundled with PyYAML) scans and parses when
present, several times faster than the pure-Python parser and without recursion; the
document is composed and constructed in Python, where depth and aliases are counted.
"""
from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from .errors import ConfigError

try:  # libyaml scans and parses the same grammar several times faster, without recursion
    from yaml._yaml import CParser as _CParser
    _LIBYAML = True
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _LIBYAML = False

MAX_BYTES = 4 * 2**20  # a config or watchlist file larger than this is refused
MAX_DEPTH = 50  # lists and mappings nested deeper than this are refused
MAX_VALUES = 200_000  # values in the document once every alias is expanded
MAX_TEXT = 8_000_000  # characters of text in the document once every alias is expanded


class YDict(dict[Any, Any]):
    """A dict that knows the line of itself and of each of its keys."""

    line: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines: dict[object, int] = {}

    def line_of(self, key: object) -> int:
        return self.key_lines.get(key, self.line)


class YList(list[Any]):
    """A list that knows the line of itself and of each item."""

    line: int = 0

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


def line_of(value: object, default: int = 0) -> int:
    """The line a loaded value started on, when known."""
    return getattr(value, "line", default) or default


def kind_of(value: object) -> str:
    """What a loaded value is, in the words of YAML: 'a mapping', 'a list', 'text' ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (set, frozenset)):
        return "a set"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "a date"
    if isinstance(value, (bytes, bytearray)):
        return "binary data"
    return "a value of another kind"


def shown(value: object, limit: int = 60) -> str:
    """A loaded value as a person would write it in YAML, for error messages.

    Scalars are shown as written (text quoted, cut at `limit` characters); lists and
    mappings by their kind, so no message prints Python's view of a value.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, int):
        return str(value) if value.bit_length() < 200 else "a very large number"
    if isinstance(value, str):
        text = value if len(value) <= limit else value[:limit] + "…"
        return repr(text)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return kind_of(value)


if _LIBYAML:
    class _Base(Composer, _CParser, SafeConstructor, Resolver):
        """yaml.CSafeLoader, but composed in Python, where depth and aliases can be counted."""

        def __init__(self, stream: bytes | str) -> None:
            _CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
else:  # pragma: no cover
    _Base = yaml.SafeLoader  # type: ignore[misc,assignment]


class _Loader(_Base):
    """The safe loader, bounding depth and alias expansion while it composes (module docstring)."""

    def __init__(self, stream: bytes | str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._values = 0  # values composed so far, an alias counting as its whole value
        self._text = 0  # characters of scalar text, likewise
        self._aliased = False
        self._sizes: dict[yaml.Node, tuple[int, int, int]] = {}  # node -> (values, text, height)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node:
        event = self.peek_event()
        if event is None or event.start_mark is None:  # the composer asks for a node only where one starts
            raise ConfigError("YAML ended where a value was expected")
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            anchor = event.anchor
            node = self._compose(parent, index)
            size = self._sizes.get(node)
            if size is None:
                raise ConfigError(f"alias *{anchor} is used inside the value it names", line=line)
            self._aliased = True
            values, text, height = size
            if self._depth + height > MAX_DEPTH:
                raise ConfigError(f"alias *{anchor} nests the document more than {MAX_DEPTH} levels deep",
                                  line=line)
            self._count(values, text, line)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ConfigError(f"lists and mappings nested more than {MAX_DEPTH} levels deep", line=line)
        values, text = self._values, self._text
        node = self._compose(parent, index)
        self._depth -= 1
        if isinstance(node, yaml.ScalarNode):
            self._count(1, len(node.value), line)
            height = 0
        else:
            self._count(1, 0, line)
            children = node.value if isinstance(node, yaml.SequenceNode) else \
                [n for pair in node.value for n in pair]
            height = 1 + max((self._sizes.get(c, (0, 0, 0))[2] for c in children), default=0)
        self._sizes[node] = (self._values - values, self._text - text, height)
        return node

    def _compose(self, parent: yaml.Node | None, index: int) -> yaml.Node:
        node = super().compose_node(parent, index)
        if node is None:  # PyYAML's composer returns a node or raises
            raise ConfigError("YAML ended where a value was expected")
        return node

    def _count(self, values: int, text: int, line: int) -> None:
        self._values += values
        self._text += text
        if self._values > MAX_VALUES:
            what = "aliases expand the document to" if self._aliased else "the document holds"
            raise ConfigError(f"{what} more than {MAX_VALUES:,} values", line=line,
                              hint="split it into several files" if not self._aliased else
                              "write the values out or use fewer aliases")
        if self._text > MAX_TEXT:
            what = "aliases expand the document to" if self._aliased else "the document holds"
            raise ConfigError(f"{what} more than {MAX_TEXT:,} characters of text", line=line)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ConfigError, yaml.YAMLError):
            raise
        except (ValueError, TypeError, AttributeError, OverflowError, KeyError, IndexError):
            # a constructor met a value its tag or look promised but does not deliver
            raise ConfigError(f"cannot read {_written(node)} as {_TAG_WORDS.get(node.tag, 'a value')}",
                              line=node.start_mark.line + 1) from None


_MERGE_TAG = "tag:yaml.org,2002:merge"
_TAG_WORDS = {
    "tag:yaml.org,2002:int": "a whole number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:binary": "base64 data",
    "tag:yaml.org,2002:str": "text",
}


def _written(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return shown(node.value, 40)
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> YDict:
    own = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE_TAG)
    loader.flatten_mapping(node)
    merged = len(node.value) - own  # flatten_mapping puts the merged pairs first
    out = YDict()
    out.line = node.start_mark.line + 1
    from_merge: set[object] = set()
    for index, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise ConfigError("a mapping key must be a plain value",
                              line=key_node.start_mark.line + 1) from None
        if index < merged:  # `<<: [*a, *b]`: the first mapping that has a key gives it
            if key in out:
                continue
            from_merge.add(key)
        elif key in from_merge:  # a key written out overrides a merged one
            from_merge.discard(key)
        elif key in out:
            raise ConfigError(f"duplicate key {shown(key)}", line=key_node.start_mark.line + 1)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> YList:
    out = YList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


# types-PyYAML bounds a constructor's loader to PyYAML's own loader classes, not subclasses of their parts
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[type-var]
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)  # type: ignore[type-var]


def _too_large(size: int) -> str:
    return f"file too large ({size / 2**20:.1f} MiB; at most {MAX_BYTES // 2**20} MiB is read)"


def parse_yaml(text: str, file: str) -> Any:
    """Parse YAML text; every problem (syntax, bounds, bad values) is a ConfigError naming
    file and line."""
    if len(text) > MAX_BYTES:
        raise ConfigError(_too_large(len(text)), file=file)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigError(f"character U+{ord(text[exc.start]):04X} is not allowed in a YAML file", file=file,
                          line=text.count("\n", 0, exc.start) + 1) from None
    if len(data) > MAX_BYTES:
        raise ConfigError(_too_large(len(data)), file=file)
    loader = None
    try:
        loader = _Loader(data if _LIBYAML else text)
        return loader.get_single_data()
    except ConfigError as exc:
        exc.file = file
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "not valid YAML"
        if problem == "exceeded maximum nesting depth":  # libyaml's own bound, met while scanning ahead
            raise ConfigError(f"lists and mappings nested more than {MAX_DEPTH} levels deep", file=file,
                              line=line) from None
        raise ConfigError(f"YAML syntax error: {problem}", file=file, line=line) from None
    except yaml.reader.ReaderError as exc:
        # libyaml counts the position in bytes, the pure-Python reader in characters
        line = (data.count(b"\n", 0, exc.position) if _LIBYAML
                else text.count("\n", 0, exc.position)) + 1
        char = exc.character if isinstance(exc.character, int) else 0
        raise ConfigError(f"character U+{char:04X} is not allowed in a YAML file", file=file,
                          line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", file=file) from None
    except RecursionError:
        raise ConfigError("nested too deeply", file=file) from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml(path: str | Path) -> Any:
    """Read and parse one YAML file (UTF-8); missing, unreadable or oversized files are ConfigErrors."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except IsADirectoryError:
        raise ConfigError("is a folder, not a file", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    if len(data) > MAX_BYTES:
        try:
            size = path.stat().st_size
        except OSError:
            size = len(data)
        raise ConfigError(_too_large(size), file=str(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(path)) from None
    return parse_yaml(text, str(path))
