"""Find the final answer in a model response.

Order (first that yields an answer wins): the last `\\boxed{}`/`\\fbox{}` (brace-matched, `\\boxed 5` too;
adjacent boxes joined when only a comma or "and" separates them), Minerva's "final answer is $X$. I hope",
the last of "final answer is", `Answer:` and "the answer is" (in that order when they coincide), and, only
when the response was not cut at the token limit: for a gold that is a plain number, the last number in the
text if it stands alone (`stands_alone`); for any other gold, a display equation that ends the response
(`closing_display`). Only the text after the last `</think>` counts; a response that opened
`<think>` and never closed it has no answer. When that text holds an `<answer>...</answer>` pair (the R1-style
prompt asks for one), only the last pair's content counts, and it is the answer itself when no rule above finds
one inside it. Every step is a linear scan, so a 200 kB response costs a few milliseconds at most.
"""

from __future__ import annotations

import re

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_BRACES = re.compile(r"\\[{}]|[{}]")
#: Text allowed between two boxes that are joined into one answer list.
_JOINER = re.compile(r"(?:\s|\$|\\\(|\\\)|\\\[|\\\]|\\quad|\\qquad|\\text\{\s*(?:and|,)\s*\}|,|\band\b)*")
_JOIN_WORD = re.compile(r",|\band\b")
_MAX_JOINED = 32
#: a comma outside braces: the box already lists several answers
_TOP_LEVEL_COMMA = re.compile(r"^(?:[^{},]++|\{(?:[^{}]++|\{[^{}]*+\})*+\})*+,")

_ANSWER_COLON = re.compile(r"(?<!\s)\s*+(?:\*\*|__)?+\s*+[:：]")
#: a number (never the tail of a longer one); a minus sign right after a letter, digit or bracket is subtraction
_NUMBER = re.compile(r"(?:(?<![\w)\]}])-)?(?<![\d,.])(?:(?:\d{1,3}(?:,\d{3})++|\d++)(?:\.\d++)?+|(?<![\w.])\.\d++)"
                     r"(?:e[+-]?\d++)?+")
#: what may touch a number that stands alone: before it, a space, an opening delimiter, `:`, `=`, `#` or `**`
#: (an opening parenthesis only when no name precedes it: `f(2)` is a call) ...
_ALONE_BEFORE = re.compile(r"(?:[\s$:=#\"'\[]|(?<![\w\\])\(|\*\*|\\[(\[$])\Z")
#: ... after it, a space, punctuation that ends a sentence, a closing delimiter, a percent or degree sign, `**`
_ALONE_AFTER = re.compile(r"\A(?:\Z|\s|[.,;:?](?!\d)|[)\]$\"'%]|\*\*|\\[)\]%$]|\^\{?\\circ)")
#: the nearest token on either side may not be an operator (`3 + 4`, `2 \cdot 5`, `4 = 2^2`); on the right, of
#: the LaTeX commands only units and spacing may follow
_OPERATOR_BEFORE = re.compile(r"(?:[-+*/^_{}\\×÷·]|\\[a-zA-Z]+)\Z")
_NOT_OPERATOR_AFTER = re.compile(r"\A(?:[^-+*/^_{}=<>\\×÷·]|\^\{?\\circ|\\(?:text|mbox|mathrm|quad|qquad|[,;!)\]%$ ])"
                                 r"|\Z)")
_CONTEXT = 40
#: display math ($$..$$, \[..\]) may span lines; inline math ($..$, \(..\)) may not. A span never holds
#: its own opening delimiter, so each opening is followed only up to the next one (linear time).
_MATH_SPAN = re.compile(r"(?<!\\)\$\$((?:[^$\\]|\\.)+?)\$\$|\\\[((?:[^\\]|\\(?!\[))+?)\\\]|"
                        r"(?<!\\)\$((?:[^$\n\\]|\\.)+?)\$|\\\(((?:[^\n\\]|\\(?!\())+?)\\\)", re.S)
_SPAN_JOINER = re.compile(r"(?<!\s)\s*+(?:,\s*+and\b|,|\band\b)\s*+")
_STRAY_DOLLAR = re.compile(r"(?<=[^\s$]),\$(?=[^\s$])")
_SENTENCE_END = re.compile(r"\.(?:\s|$)")
_WINDOWS = (300, 4000, 1 << 62)
_MAX_GAP = 200
_MAX_BOX = 20_000  # characters a box's content may span
_MAX_BOX_TRIES = 64
_MAX_LINE = 2000


def final_text(response: str) -> str | None:
    """The part of the response that may hold the answer (None: the reasoning never ended)."""
    end = response.rfind("</think>")
    if end >= 0:
        return response[end + len("</think>"):]
    if "<think>" in response:
        return None
    return response


def answer_tag(text: str) -> str | None:
    """The content of the last `<answer>...</answer>` pair, or None when there is none."""
    end = text.rfind("</answer>")
    start = text.rfind("<answer>", 0, end) if end >= 0 else -1
    return text[start + len("<answer>"):end] if start >= 0 else None


def _box_at(text: str, start: int, command: str) -> tuple[str, int] | None:
    """(content, end) of the box whose command starts at `start`; None if its braces never close."""
    pos = start + len(command)
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    if pos >= len(text):
        return None
    if text[pos] != "{":
        if command == "\\boxed" and text[pos].isalpha():  # \boxedabc is not a box
            return None
        stop = len(text)
        for sep in ("$", "\n", "\\]", "\\)"):
            found = text.find(sep, pos)
            if 0 <= found < stop:
                stop = found
        return text[pos:stop].strip().rstrip("."), stop
    depth = 0
    for match in _BRACES.finditer(text, pos, pos + _MAX_BOX):
        token = match.group()
        if len(token) == 2:  # an escaped brace \{ or \} is content
            continue
        depth += 1 if token == "{" else -1
        if depth == 0:
            return text[pos + 1:match.start()], match.end()
    return None


def _last_box_start(text: str, before: int) -> tuple[int, str] | None:
    best = (-1, "")
    for command in _BOX_COMMANDS:
        found = text.rfind(command, 0, before)
        if found > best[0]:
            best = (found, command)
    return best if best[0] >= 0 else None


def boxed(text: str, parts: int = 1) -> str | None:
    """Content of the last box, joined with the boxes right before it when only ',' or 'and' separate them; and
    when the gold is a list of `parts` answers and the last box holds one, the last `parts` boxes, wherever they
    stand (a multi-part question answered part by part)."""
    found = _last_box_start(text, len(text))
    for _ in range(_MAX_BOX_TRIES):  # boxes that never close are skipped, a bounded number of times
        if found is None:
            return None
        start, command = found
        box = _box_at(text, start, command)
        if box is not None:
            break
        found = _last_box_start(text, start)
    else:
        return None
    contents = [box[0]]
    while len(contents) < _MAX_JOINED:
        previous = _last_box_start(text, start)
        if previous is None:
            break
        prev_box = _box_at(text, previous[0], previous[1])
        if prev_box is None or prev_box[1] > start:
            break
        gap = text[prev_box[1]:start]
        if len(gap) > _MAX_GAP or _JOINER.fullmatch(gap) is None or not _JOIN_WORD.search(gap):
            break
        contents.append(prev_box[0])
        start = previous[0]
    if parts > 1 and len(contents) == 1 and not _TOP_LEVEL_COMMA.search(contents[0]):
        while len(contents) < min(parts, _MAX_JOINED):
            previous = _last_box_start(text, start)
            prev_box = None if previous is None else _box_at(text, previous[0], previous[1])
            if prev_box is None or prev_box[1] > start:
                break
            contents.append(prev_box[0])
            start = previous[0]
    return ", ".join(reversed(contents))


def _clean_fragment(fragment: str) -> str | None:
    """Turn the text after an answer marker into an answer: the math of its first sentence (display math may
    span lines; spans are joined when only commas or "and" separate them, and continued when one ends with an
    operator, as in `$x+$ $y$`), else the first sentence itself."""
    text = fragment.lstrip().lstrip(":：")[:_MAX_LINE].replace("**", "").replace("__", "")
    text = _STRAY_DOLLAR.sub(",", text)  # `$221,$8$`: a delimiter typed after a comma, inside one answer
    spans: list[str] = []
    pos = 0
    for math in _MATH_SPAN.finditer(text):
        gap = text[pos:math.start()]
        content = next(g for g in math.groups() if g is not None).strip()
        if not spans:
            if gap.strip() and ("\n" in gap or _SENTENCE_END.search(gap)):
                break
            spans.append(content)
        elif _SPAN_JOINER.fullmatch(gap):
            spans.append(content)
        elif not gap.strip() and "\n" not in gap and spans[-1][-1:] in ("+", "-", "=", "*", "/"):
            spans[-1] = f"{spans[-1]} {content}"
        else:
            break
        pos = math.end()
    if spans:
        return ", ".join(s for s in spans if s) or None
    line = text.split("\n", 1)[0]
    end = _SENTENCE_END.search(line)
    if end is not None:
        line = line[:end.start()]
    return line.strip().rstrip(".,;").strip() or None


def _last_answer_colon(lower: str) -> int:
    """End of the last `Answer:` (also `**Answer:**`, `Final Answer:`), or -1."""
    end = len(lower)
    while (found := lower.rfind("answer", 0, end)) >= 0:
        colon = _ANSWER_COLON.match(lower, found + len("answer"))
        if colon is not None and (found == 0 or not lower[found - 1].isalpha()):
            return colon.end()
        end = found
    return -1


def _after_markers(text: str) -> str | None:
    """The answer stated after the last of "final answer is", `Answer:` and "the answer is" (when two end at
    the same place, that order decides). A marker earlier in the reasoning never beats the closing statement."""
    lower = text.lower()
    ends = []
    for priority, phrase in enumerate(("final answer is", "the answer is")):
        found = lower.rfind(phrase)
        if found >= 0:
            ends.append((found + len(phrase), -2 * priority))
    colon = _last_answer_colon(lower)
    if colon >= 0:
        ends.append((colon, -1))
    for end, _ in sorted(ends, reverse=True):
        answer = _clean_fragment(text[end:])
        if answer is not None:
            return answer
    return None


def stands_alone(text: str, start: int, end: int) -> bool:
    """Whether the number at text[start:end] is a token of its own: not part of a word (`AZYUK2A`), of a LaTeX
    expression (`\\frac{1+\\sqrt{5}}{2}`, `2^{10}`, `x_2`, `5\\pi`) or of an arithmetic expression (`3 + 4`)."""
    before, after = text[max(0, start - _CONTEXT):start], text[end:end + _CONTEXT]
    if after.startswith("}") and "{" not in text[:start]:  # a group opened before the text (a prefilled box)
        after = after[1:]
    if (start > 0 and not _ALONE_BEFORE.search(before)) or not _ALONE_AFTER.match(after):
        return False
    if before.endswith("**") and after.startswith("**"):  # markdown bold
        before, after = before[:-2], after[2:]
    return not _OPERATOR_BEFORE.search(before.rstrip()) and _NOT_OPERATOR_AFTER.match(after.lstrip()) is not None


def last_number(text: str) -> str | None:
    """The last number written in the text (commas as thousands separators allowed), when it stands alone."""
    for window in _WINDOWS:
        numbers = list(_NUMBER.finditer(text, max(0, len(text) - window)))
        if numbers:
            last = numbers[-1]
            return last.group() if stands_alone(text, last.start(), last.end()) else None
        if window >= len(text):
            break
    return None


def _minerva(text: str) -> str | None:
    """The answer sentence of Minerva's few-shot format: "final answer is $X$. I hope it is correct"."""
    start = text.rfind("final answer is $")
    if start < 0:
        return None
    start += len("final answer is $")
    stop = text.find("$. I hope", start)
    if stop < 0:
        return None
    return text[start:stop].strip() or None


def extract_answer(response: str, numeric_gold: bool, truncated: bool = False, parts: int = 1) -> str | None:
    """The final answer written in `response`, or None when it has none. A `truncated` response (cut at the
    token limit) never gets the last-number fallback: its last number is a step of unfinished work. `parts`: how
    many answers the gold lists (boxes of a multi-part answer are gathered)."""
    text = final_text(response)
    if text is None:
        return None
    tagged = answer_tag(text)
    if tagged is not None:
        return _extract(tagged, numeric_gold, truncated, parts) or _clean_fragment(tagged)
    return _extract(text, numeric_gold, truncated, parts)


def _extract(text: str, numeric_gold: bool, truncated: bool, parts: int) -> str | None:
    answer = boxed(text, parts)
    if answer is not None:
        return answer.strip() or None
    minerva = _minerva(text)
    if minerva is not None:
        return minerva
    answer = _after_markers(text)
    if answer is not None:
        return answer
    if truncated:
        return None
    return last_number(text) if numeric_gold else closing_display(text)


def closing_display(text: str) -> str | None:
    """The content of a display equation (`\\[..\\]`, `$$..$$`) that ends the response, only punctuation
    after it: a response that states its result that way and boxes nothing has answered with it."""
    tail = text[-_MAX_LINE:].rstrip().rstrip(".")
    for opening, closing in (("\\[", "\\]"), ("$$", "$$")):
        if tail.endswith(closing):
            start = tail.rfind(opening, 0, len(tail) - len(closing))
            content = tail[start + len(opening):len(tail) - len(closing)].strip() if start >= 0 else ""
            if content and opening not in content:
                return content
    return None
