"""The README and docs/ stay true: links resolve and code blocks run.

Every relative link (`[text](path#anchor)`, images included) in README.md and
docs/*.md must name an existing file, and an anchor must name a heading of the
target page. Every fenced `bash` or `python` block either runs here (bash
blocks one by one in a temporary folder; python blocks in one fresh process,
each in its own namespace) or is marked with the line `<!-- not run -->`
right before its fence. Long commands are marked; short ones (`--help`, tiny
data) run, so a renamed flag or function breaks this test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
NOT_RUN = "<!-- not run -->"
RUN_LANGUAGES = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python", "py": "python"}
FENCE = re.compile(r"^(?P<indent> {0,3}|\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def parse(text: str) -> tuple[list[dict], list[tuple[int, str]]]:
    """Splits markdown into fenced blocks and the lines outside them.

    Returns:
        `(blocks, prose)`: each block is `{"line", "language", "code", "run"}`
        (`run` is False when the last non-blank line before the fence is
        `<!-- not run -->`); prose is `(line number, line)` outside fences.
    """
    blocks, prose, lines = [], [], text.splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            prose.append((i + 1, lines[i]))
            i += 1
            continue
        fence, indent, start = match["fence"], len(match["indent"]), i + 1
        previous = next((line.strip() for line in reversed(lines[:i]) if line.strip()), "")
        body, i = [], i + 1
        while i < len(lines) and not re.match(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        info = match["info"].strip().split()
        blocks.append({"line": start,
                       "language": info[0].lower() if info else "", "code": "\n".join(body) + "\n",
                       "run": previous != NOT_RUN})
        i += 1
    return blocks, prose


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, markup and punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a markdown file (repeats get -1, -2, ...)."""
    seen: dict[str, int] = {}
    result = set()
    for _, line in parse(path.read_text(encoding="utf-8"))[1]:
        match = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = slug(match[1])
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def broken_links(page: Path) -> list[str]:
    """The relative links of a page that name no file, or no heading of their page."""
    problems = []
    for number, line in parse(page.read_text(encoding="utf-8"))[1]:
        for match in LINK.finditer(re.sub(r"`[^`]*`", "", line)):
            target = match["target"]
            if SCHEME.match(target):
                continue
            path_part, _, anchor = target.partition("#")
            resolved = (page.parent / path_part).resolve() if path_part else page
            if not resolved.exists():
                problems.append(f"{page.name}:{number}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                problems.append(f"{page.name}:{number}: {target} (no heading #{anchor})")
    return problems


def _doctest_source(code: str) -> str:
    """The statements of a `>>>` session (outputs dropped); other code unchanged."""
    lines = code.splitlines()
    if not any(line.startswith(">>>") for line in lines):
        return code
    return "\n".join(line[4:] for line in lines if line.startswith((">>> ", "... ")) or line in (">>>", "...")) + "\n"


def code_blocks(language: str) -> list[tuple[str, dict]]:
    """`(id, block)` for every block of the pages in `language` ("bash" or "python")."""
    found = []
    for page in PAGES:
        for block in parse(page.read_text(encoding="utf-8"))[0]:
            if RUN_LANGUAGES.get(block["language"]) == language:
                found.append((f"{page.relative_to(ROOT)}:{block['line']}", block))
    return found


def _env() -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


# --- the checker itself ---------------------------------------------------------------------------

SAMPLE = textwrap.dedent("""\
    # Title

    ## A `code` heading, with punctuation!

    See [here](#a-code-heading-with-punctuation) and [gone](#missing) and [web](https://example.com).

    <!-- not run -->
    ```bash
    sleep 1000
    ```

    ```python
    print("ran")
    ```

    ```yaml
    key: value
    ```

    ```text
    [not a link](nowhere.md)
    ```
    """)


def test_parse_marks_blocks_and_keeps_prose_outside_fences():
    blocks, prose = parse(SAMPLE)
    assert [(b["language"], b["run"]) for b in blocks] == [("bash", False), ("python", True), ("yaml", True),
                                                          ("text", True)]
    assert blocks[1]["code"] == 'print("ran")\n'
    assert not any("nowhere.md" in line for _, line in prose)


def test_broken_links_finds_missing_files_and_anchors(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(SAMPLE + "\n[a file](other.md#top) [no file](absent.md) [image](pic.png)\n", encoding="utf-8")
    (tmp_path / "other.md").write_text("# Top\n", encoding="utf-8")
    assert broken_links(page) == ["page.md:5: #missing (no heading #missing)",
                                  "page.md:24: absent.md (no such file)",
                                  "page.md:24: pic.png (no such file)"]


def test_doctest_blocks_run_their_statements():
    assert _doctest_source(">>> x = [1,\n...      2]\n>>> len(x)\n2\n") == "x = [1,\n     2]\nlen(x)\n"
    assert _doctest_source("print(1)\n") == "print(1)\n"


def test_slug_and_repeated_headings(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# Options: one `spec`\n## Notes\n## Notes\n```bash\n# Not a heading\n```\n", encoding="utf-8")
    assert anchors(page) == {"options-one-spec", "notes", "notes-1"}


# --- the pages ------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    assert broken_links(page) == []


def test_some_blocks_run():
    """The pages keep cheap commands that run here: marking everything 'not run' checks nothing."""
    assert len([b for _, b in code_blocks("bash") if b["run"]]) >= 3
    assert len([b for _, b in code_blocks("python") if b["run"]]) >= 2


@pytest.mark.parametrize("block", [b for _, b in code_blocks("bash") if b["run"]],
                         ids=[i for i, b in code_blocks("bash") if b["run"]])
def test_bash_block_runs(block, tmp_path):
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block["code"]], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode}\n{block['code']}\n{done.stderr[-2000:]}"


_RUNNER = """
import json, sys, traceback
failures = []
for name, code in json.load(sys.stdin):
    try:
        exec(compile(code, name, "exec"), {"__name__": "__main__"})
    except BaseException:
        failures.append([name, traceback.format_exc(limit=3)])
print("\\n@@RESULT@@" + json.dumps(failures))
"""


def test_python_blocks_run(tmp_path):
    """Runs every unmarked python block in one fresh process (one Keras import), each in its own namespace."""
    blocks = [[name, _doctest_source(block["code"])] for name, block in code_blocks("python") if block["run"]]
    done = subprocess.run([sys.executable, "-c", _RUNNER], input=json.dumps(blocks), cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "@@RESULT@@" in done.stdout, done.stderr[-2000:]
    failures = json.loads(done.stdout.rsplit("@@RESULT@@", 1)[1])
    assert failures == [], "\n\n".join(f"{name}:\n{trace}" for name, trace in failures)
