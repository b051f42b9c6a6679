"""Texts read out of another project's files without running them: Python through `ast`, JSON through `json`.

Each reader returns the text as a template in ov_eval's prompt syntax (`{{field}}` a placeholder, everything
else literal): a plain string as it is, an f-string or a `str.format` string with its placeholders renamed to
ov_eval's fields. What cannot be found, or not expressed that way, raises TextNotFound with a short reason;
the caller names the task and the file.
"""
from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path
from typing import Any, Mapping

_OV_EVAL_PLACEHOLDER = re.compile(r"\{\{\w+\}\}")


class TextNotFound(Exception):
    """The text is not in the file (or not in a form ov_eval can use); the message says what is missing."""


def python_tree(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except FileNotFoundError:
        raise TextNotFound("no such file") from None
    except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
        raise TextNotFound(f"not parsable Python ({type(exc).__name__}: {exc})") from None


def json_data(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TextNotFound("no such file") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise TextNotFound(f"not valid JSON ({exc})") from None


def _is_text(node: ast.AST | None) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def module_constant(tree: ast.Module, name: str) -> ast.expr:
    """The string a module-level `NAME = "..."` assigns (the last one, as Python would leave it)."""
    found = None
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) and _is_text(node.value):
            found = node.value
    if found is None:
        raise TextNotFound(f"no module-level string constant {name}")
    return found


def _function(tree: ast.Module, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    """A function or method of that name, at any depth (the first in source order)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    raise TextNotFound(f"no function {name}")


def _branch(function: ast.AST, branch: tuple[str, str] | None) -> list[ast.stmt]:
    """The statements under `if VAR == "VALUE":` inside the function (its `elif`/`else` excluded), or its body."""
    if branch is None:
        return list(getattr(function, "body"))
    variable, value = branch
    for node in ast.walk(function):
        if (isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and len(node.test.ops) == 1
                and isinstance(node.test.ops[0], ast.Eq) and isinstance(node.test.left, ast.Name)
                and node.test.left.id == variable and isinstance(node.test.comparators[0], ast.Constant)
                and node.test.comparators[0].value == value):
            return node.body
    raise TextNotFound(f"no branch `if {variable} == {value!r}` in {getattr(function, 'name', '?')}")


def _walk(statements: list[ast.stmt]):
    for statement in statements:
        yield from ast.walk(statement)


def assigned_in_function(tree: ast.Module, function: str, variable: str) -> ast.expr:
    """The string assigned to `variable` inside `function`."""
    for node in _walk(_branch(_function(tree, function), None)):
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == variable for t in node.targets)
                and _is_text(node.value)):
            return node.value
    raise TextNotFound(f"no string assigned to {variable} in {function}")


def message_content(tree: ast.Module, function: str, role: str, branch: tuple[str, str] | None = None) -> ast.expr:
    """The `content` of the chat message `{"role": ROLE, "content": ...}` written inside `function` (in `branch`)."""
    for node in _walk(_branch(_function(tree, function), branch)):
        if isinstance(node, ast.Dict):
            entries = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
            role_node = entries.get("role")
            if isinstance(role_node, ast.Constant) and role_node.value == role and _is_text(entries.get("content")):
                return entries["content"]
    where = f" under `if {branch[0]} == {branch[1]!r}`" if branch else ""
    raise TextNotFound(f"no {role} message with a string content in {function}{where}")


def json_text(data: Any, key_path: str, same_as: tuple[str, ...] = ()) -> str:
    """The string at a dotted key path of a JSON object (`llava_bench_conv.prompt`); the paths in `same_as` must
    hold the same string (where ov_eval has one prompt for what the reference keeps apart)."""
    value = _json_value(data, key_path)
    differing = [key for key in same_as if _json_value(data, key) != value]
    if differing:
        raise TextNotFound(f"{', '.join(differing)} differ from {key_path} (ov_eval has one prompt for them)")
    return value


def _json_value(data: Any, key_path: str) -> str:
    value = data
    for key in key_path.split("."):
        if not isinstance(value, dict) or key not in value:
            raise TextNotFound(f"no key {key_path}")
        value = value[key]
    if not isinstance(value, str):
        raise TextNotFound(f"{key_path} is not a string")
    return value


def as_template(node: ast.expr | str, fields: Mapping[str, str], strip: bool = False) -> str:
    """The text in ov_eval's template syntax. `fields` maps the reference's placeholder names (f-string names;
    `str.format` names, or positions "0", "1", ... for `{}`) to ov_eval fields; without fields a string is plain
    text. `strip` strips a plain or format string first, as the reference does before using it."""
    if isinstance(node, ast.JoinedStr):
        return _fstring_template(node, fields)
    text = node.value if isinstance(node, ast.Constant) else node
    text = text.strip() if strip else text
    return _format_template(text, fields) if fields else _literal(text)


def _literal(text: str) -> str:
    if _OV_EVAL_PLACEHOLDER.search(text):
        raise TextNotFound(f"its text holds {_OV_EVAL_PLACEHOLDER.search(text).group()}, which ov_eval's "
                           f"templates would read as a placeholder")
    return text


def _placeholder(name: str, fields: Mapping[str, str]) -> str:
    if name not in fields:
        raise TextNotFound(f"it has a placeholder {{{name}}} ov_eval has no field for (known: {', '.join(fields)})")
    return "{{" + fields[name] + "}}"


def _fstring_template(node: ast.JoinedStr, fields: Mapping[str, str]) -> str:
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(_literal(str(value.value)))
        elif (isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name) and value.conversion == -1
              and value.format_spec is None):
            parts.append(_placeholder(value.value.id, fields))
        else:
            raise TextNotFound(f"it has an f-string part ov_eval cannot map: {ast.unparse(value)}")
    return "".join(parts)


def _format_template(text: str, fields: Mapping[str, str]) -> str:
    parts, position = [], 0
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TextNotFound(f"not a format string ({exc})") from None
    for literal, name, spec, conversion in parsed:
        parts.append(_literal(literal))
        if name is None:
            continue
        if spec or conversion:
            raise TextNotFound(f"it has a format field ov_eval cannot map: {{{name}!{conversion}:{spec}}}")
        if name == "":
            name, position = str(position), position + 1
        parts.append(_placeholder(name, fields))
    return "".join(parts)
