"""Find the program in a model's response.

- Only the text after the last `</think>` is graded (a reasoning model's drafts are not its answer); a
  response that opens `<think>` and never closes it has no answer.
- The program is the last fenced block labelled python (py, python3); without one, the last unlabelled
  block that parses as Python (so that example output or prose in a bare block is not taken for code). A
  fence still open at the end of the response (the model ran out of tokens or stopped) closes there.
- `prefilled=True` is the study's code-prompt convention: the prompt ends with "```python", so the response
  starts inside that block and may end with "```". It is graded as if the fence were part of the response.
  `prefilled=None` detects it: the response does not open a fence before its first line of code, and what
  comes before its first fence (or all of it, without fences) parses as Python.
- Otherwise text with no fence at all is not a program (`None`).

`sanitize` keeps what evalplus's sanitizer keeps of a functional answer: imports, function and class
definitions and module-level assignments, dropping example calls, prints, asserts and `__main__` blocks
that would otherwise run (and possibly fail) before the tests.
"""

from __future__ import annotations

import ast
import re

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+.-]*)[^\n]*$", re.MULTILINE)
_PYTHON = {"python", "py", "python3", "py3"}
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


def answer_text(response: str) -> str | None:
    """The part of a response that holds the answer (after reasoning), or None when reasoning never ended."""
    if _THINK_CLOSE in response:
        return response.rsplit(_THINK_CLOSE, 1)[1]
    if _THINK_OPEN in response:
        return None
    return response


def _blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of each fenced block, in order; an unclosed last fence runs to the end."""
    blocks: list[tuple[str, str]] = []
    opened: tuple[str, str, int] | None = None  # (fence, language, body start)
    for match in _FENCE.finditer(text):
        fence, info = match.group(1), match.group(2).lower()
        if opened is None:
            opened = (fence, info, match.end() + 1)
        elif fence[0] == opened[0][0] and len(fence) >= len(opened[0]) and not info:
            blocks.append((opened[1], text[opened[2]:match.start()]))
            opened = None
    if opened is not None:
        blocks.append((opened[1], text[opened[2]:]))
    return blocks


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _starts_inside_code(text: str) -> bool:
    first = _FENCE.search(text)
    if first is not None and first.group(2):
        return False  # the first fence opens a block
    head = text if first is None else text[:first.start()]
    return bool(head.strip()) and _parses(head)


def extract_code(response: str | None, prefilled: bool | None = False) -> str | None:
    """The program in `response` (see the module docstring), or None when there is none."""
    if response is None:
        return None
    text = answer_text(response)
    if text is None:
        return None
    if prefilled is None:
        prefilled = _starts_inside_code(text)
    if prefilled and _THINK_CLOSE not in response and not text.lstrip().startswith(("```", "~~~")):
        text = "```python\n" + text
    blocks = [(language, body) for language, body in _blocks(text) if body.strip()]
    labelled = [body for language, body in blocks if language in _PYTHON]
    if labelled:
        return labelled[-1].rstrip() + "\n"
    for language, body in reversed(blocks):
        if not language and _parses(body):
            return body.rstrip() + "\n"
    return None


def _is_main_guard(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "__name__" in ast.unparse(node.test)


def _keep(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return True
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        return True
    if isinstance(node, ast.Try):  # guarded imports: try: import x / except ImportError: ...
        return all(_keep(n) for n in node.body)
    return isinstance(node, ast.If) and not _is_main_guard(node) and all(_keep(n) for n in node.body)


def sanitize(code: str) -> str:
    """Only the definitions of a functional answer (see the module docstring); unparsable code unchanged."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code
    kept = [node for node in tree.body if _keep(node)]
    if len(kept) == len(tree.body):
        return code
    lines = code.splitlines(keepends=True)
    spans = [(min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]), node.end_lineno)
             for node in kept]
    return "".join("".join(lines[start - 1:end]) for start, end in spans)
