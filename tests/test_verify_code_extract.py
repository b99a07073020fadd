"""Finding the program in real-looking responses."""

from __future__ import annotations

from rlvr_limits.verify.code.extract import extract_code, sanitize

INSTRUCT = """I'll solve this with a dictionary.

```python
def two_sum(nums, target):
    seen = {}
    for i, x in enumerate(nums):
        if target - x in seen:
            return [seen[target - x], i]
        seen[x] = i
```

This runs in O(n). For example:

```
>>> two_sum([2, 7], 9)
[0, 1]
```
"""


def test_last_python_block_wins_over_later_non_python_blocks():
    code = extract_code(INSTRUCT)
    assert code is not None and code.startswith("def two_sum") and ">>>" not in code


def test_bare_block_counts_as_python_but_not_other_languages():
    assert extract_code("Here:\n```\nprint(1)\n```\n") == "print(1)\n"
    assert extract_code("```bash\nrm -rf /\n```\n") is None
    assert extract_code("First draft:\n```python\nx = 1\n```\nFinal:\n```py\nx = 2\n```\n") == "x = 2\n"


def test_prefilled_fence_convention():
    # the prompt ended with "```python": the response starts with code and may close the fence
    response = "def add(a, b):\n    return a + b\n```\n\nThe function adds two numbers."
    assert extract_code(response, prefilled=True) == "def add(a, b):\n    return a + b\n"
    assert extract_code(response, prefilled=None) == "def add(a, b):\n    return a + b\n"
    assert extract_code(response, prefilled=False) is None
    truncated = "import sys\n\ndef main():\n    n = int(sys.stdin.readline())\n    print(n *"
    assert extract_code(truncated, prefilled=True) == truncated.rstrip() + "\n"
    repeated = "```python\nprint(3)\n```"  # a model that opens the fence again
    assert extract_code(repeated, prefilled=True) == "print(3)\n"


def test_auto_detection_does_not_take_prose_for_code():
    assert extract_code("I am not sure how to solve this problem.", prefilled=None) is None
    assert extract_code("Use a heap.\n```python\nimport heapq\n```", prefilled=None) == "import heapq\n"


def test_reasoning_is_skipped():
    response = "<think>\nMaybe:\n```python\nprint('draft')\n```\nNo.\n</think>\n```python\nprint('final')\n```"
    assert extract_code(response) == "print('final')\n"
    assert extract_code("<think>\n```python\nprint('draft')\n```\nstill thinking") is None
    assert extract_code("</think>\nNo code here.") is None


def test_unclosed_final_block_runs_to_the_end():
    assert extract_code("Sure:\n```python\nprint(5)\nprint(6)") == "print(5)\nprint(6)\n"
    assert extract_code("````python\nx = '```'\n````") == "x = '```'\n"


def test_empty_and_missing():
    assert extract_code(None) is None
    assert extract_code("") is None
    assert extract_code("```python\n\n```") is None


def test_sanitize_keeps_definitions_only():
    code = (
        "import math\nfrom functools import cache\nLIMIT = 10\n\n@cache\ndef f(n):\n    return math.factorial(n)\n\n"
        "print(f(3))\nassert f(3) == 7\nif __name__ == '__main__':\n    f(100000)\n"
        "try:\n    import numpy as np\nexcept ImportError:\n    np = None\n"
    )
    cleaned = sanitize(code)
    assert "@cache\ndef f(n)" in cleaned and "LIMIT = 10" in cleaned and "import numpy" in cleaned
    assert "print(f(3))" not in cleaned and "assert" not in cleaned and "__main__" not in cleaned
    assert sanitize("def broken(:\n") == "def broken(:\n"
    assert sanitize("def g():\n    return 1\n") == "def g():\n    return 1\n"
