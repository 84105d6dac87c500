"""The chapter quiz in a real JupyterLab: headless Chromium answers it, SQLite keeps the answers.

What a learner does, end to end: JupyterLab (loopback, a token, a temporary folder and a
temporary progress file) opens a one-cell notebook that shows the ch01 quiz; Chromium runs the
cell, picks a wrong choice, clicks "Check", reads the feedback, clicks "Retry", picks the right
choice and checks again. Each answer must be in the progress file with the bank key, the letter
displayed and the display order. Screenshots are saved in the test's tmp_path. Choices drawn so
that a learner cannot read or click them in place fail the test. A second test opens a mock
exam: its ordering dropdowns must show "—" before a pick, and its review must wrap between
words (JupyterLab styles output ``<pre>`` with ``word-break: break-all``), at 1200 and 700 px.

Needs Playwright (the ``test`` extras) and a Chromium: a system ``chromium`` or the one that
``make test`` unpacks from Debian's packages (:mod:`tlcourse.assets.browser`). Without either
the test is skipped and says how to get it. Everything it starts is stopped by process id.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tlcourse.assets.browser import PROVISION_CMD, chromium_path
from tlcourse.quiz.bank import Question, load_bank
from tlcourse.quiz.drill import ExamConfig, draw, load_pool
from tlcourse.quiz.shuffle import Shown, show_question

BANK, SEED, LEARNER = "ch01", 0, "browser-tester"
QUIZ_CELL = f'from tlcourse import quiz\nquiz.show("{BANK}", seed={SEED})'
TIMEOUT_MS = 30_000  # per wait in the page; the whole test takes ~15 s on 2 cores
# Chromium starts quietly on a machine without internet (no update or sync look-ups).
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


# ------------------------------------------------------------------ processes
def _free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc; kernels run in their own session)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p, parent in parents.items() if parent in frontier]
        found += kids
        frontier = kids
    return found


def _kill_groups(groups: set[int], sig: signal.Signals) -> None:
    """Send ``sig`` to each process group that still exists."""
    for group in groups:
        try:
            os.killpg(group, sig)
        except (ProcessLookupError, PermissionError):
            pass  # already gone


def _stop(proc: subprocess.Popen) -> None:
    """Stop ``proc`` (started in its own session) and every process group below it."""
    groups = {proc.pid}
    for child in _children(proc.pid):
        try:
            groups.add(os.getpgid(child))
        except ProcessLookupError:
            pass
    _kill_groups(groups, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    _kill_groups(groups, signal.SIGKILL)  # whatever ignored SIGTERM
    proc.wait()


def _wait_until_up(url: str, token: str, proc: subprocess.Popen, log: Path) -> None:
    """Poll JupyterLab's status API until it answers; fail with its log if it dies or hangs."""
    deadline = time.monotonic() + 60
    request = urllib.request.Request(f"{url}/api/status",
                                     headers={"Authorization": f"token {token}"})
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(request, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"JupyterLab did not answer within 60 s:\n{log.read_text()[-2000:]}")


@contextmanager
def _jupyter_lab(folder: Path, db: Path) -> Iterator[tuple[str, str]]:
    """JupyterLab serving ``folder`` on loopback, answers going to ``db``; yields (url, token)."""
    port, token = _free_port(), os.urandom(16).hex()
    home = folder.parent / "jupyter-home"  # no settings or workspaces from the real home
    env = {**os.environ, "TLCOURSE_PROGRESS_DB": str(db), "TLCOURSE_LEARNER": LEARNER,
           "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI run as root
    # No "get Jupyter news?" pop-up (it would also try to reach the internet).
    labconfig = home / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    log = folder.parent / "jupyterlab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url, token, proc, log)
        yield url, token
    finally:
        _stop(proc)


# ------------------------------------------------------------------ the notebook and the quiz
def _write_notebook(folder: Path, source: str = QUIZ_CELL) -> Path:
    """A one-cell notebook that runs ``source`` (nbformat 4, Python 3 kernel)."""
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "quiz", "metadata": {},
                   "outputs": [], "source": source}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path = folder / "quiz.ipynb"
    path.write_text(json.dumps(notebook))
    return path


def _first_single() -> Question:
    """The bank's first single-choice question, as the learner meets it."""
    return next(q for q in load_bank(BANK).questions if q.type == "single")


def _label(shown: Shown, right: bool) -> str:
    """The radio button's text (``"B) ..."``) of the first right, or wrong, displayed choice."""
    choice = next(c for c in shown.question.choices if (c.key in shown.question.answer) == right)
    return f"{choice.key}) {choice.text}"


def _pick(card, label: str) -> None:
    """Click a choice's text, as a learner does, and check that its radio button took it."""
    from playwright.sync_api import expect

    radio = card.get_by_role("radio", name=label)
    expect(radio).to_be_enabled()  # after Retry, the kernel re-enables the inputs last
    card.locator("label").filter(has_text=label).click()
    expect(radio).to_be_checked()


# Choices a learner cannot read or click in place: a radio button pushed out of its own row
# (onto the next choice's) or a checkbox text cut off with "...".
_LAYOUT_PROBLEMS_JS = """() => {
  const bad = [];
  for (const label of document.querySelectorAll('.widget-radio-box label')) {
    const row = label.getBoundingClientRect();
    const dot = label.querySelector('input').getBoundingClientRect();
    if (dot.top + dot.height / 2 > row.bottom) bad.push('radio off its row: ' + label.textContent);
  }
  for (const label of document.querySelectorAll('.widget-checkbox label'))
    if (label.scrollWidth > label.clientWidth) bad.push('text cut off: ' + label.textContent);
  return bad;
}"""


# Words drawn across two lines (a break inside the word): one client rectangle per line.
# A break after a hyphen ("ImageNet-" / "pretrained") is ordinary typography: each part of a
# hyphenated word is checked on its own.
_SPLIT_WORDS_JS = """(pre) => {
  const split = [];
  const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const m of node.data.matchAll(/[^\\s-]+-?/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
      if (tops.size > 1) split.push(m[0]);
    }
  }
  return split;
}"""

# What each dropdown of a card displays (its selected option's text; "" if none is selected).
_DROPDOWN_TEXTS_JS = """(card) => [...card.querySelectorAll('select')].map(
  s => s.selectedIndex < 0 ? '' : s.options[s.selectedIndex].text)"""


def _answer_rows(db: Path) -> list[tuple]:
    """Every stored answer, oldest first, read straight from the SQLite file."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT learner, bank, question_id, answer, shown_answer, shown_order, correct, "
            "attempt FROM answers ORDER BY id").fetchall()


@pytest.fixture
def chromium() -> Path:
    """The Chromium to drive, or a skip that says how to get one."""
    pytest.importorskip("playwright.sync_api",
                        reason="Playwright is not installed: pip install -e '.[test]'")
    path = chromium_path()
    if path is None:
        pytest.skip(f"Chromium not found (no `chromium` on PATH, none provisioned): "
                    f"run {PROVISION_CMD}")
    return path


# ------------------------------------------------------------------ the test
def test_learner_answers_the_quiz_in_jupyterlab(tmp_path: Path, chromium: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    folder, db = tmp_path / "lab", tmp_path / "progress.sqlite"
    folder.mkdir()
    _write_notebook(folder)
    question, n_questions = _first_single(), len(load_bank(BANK).questions)
    first, second = show_question(question, SEED), show_question(question, SEED, attempt=1)
    wrong, right = _label(first, right=False), _label(second, right=True)
    wrong_why = first.question.choice(wrong.split(")")[0]).why

    with _jupyter_lab(folder, db) as (url, token), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{url}/lab/tree/quiz.ipynb?token={token}")
            try:
                # Keys pressed before the kernel is connected insert a cell but run nothing;
                # the status bar says "| Idle" only once it is.
                page.locator("[title^='Change kernel for']", has_text="| Idle").wait_for()
                page.locator(".jp-Notebook .jp-Cell .cm-content").first.click()
                page.keyboard.press("Shift+Enter")  # run the cell, as a learner does
                # Every question is drawn, each with its own Check button.
                checks = page.get_by_role("button", name="Check", exact=True)
                expect(checks).to_have_count(n_questions)
                # The card is the innermost box holding the question's prompt.
                card = page.locator(".widget-vbox").filter(has_text=question.prompt[:60]).last
                layout_problems = page.evaluate(_LAYOUT_PROBLEMS_JS)
                _pick(card, wrong)
                card.get_by_role("button", name="Check", exact=True).click()
                expect(card).to_contain_text("Not quite")
                feedback = card.locator(".widget-html").last
                expect(feedback).to_contain_text(wrong_why[:60])
                wrong_text = feedback.inner_text()
                page.screenshot(path=tmp_path / "quiz-wrong.png")

                card.get_by_role("button", name="Retry", exact=True).click()
                _pick(card, right)
                card.get_by_role("button", name="Check", exact=True).click()
                expect(feedback).to_contain_text("Correct")
                right_text = feedback.inner_text()
                page.screenshot(path=tmp_path / "quiz-right.png")
            except Exception:
                page.screenshot(path=tmp_path / "failure.png")
                print(f"screenshot of the failure: {tmp_path / 'failure.png'}")
                raise
        finally:
            browser.close()

    assert not layout_problems, (f"{len(layout_problems)} quiz choices are hard to use at 1200 px: "
                                 + "; ".join(layout_problems))
    print(f"clicked {wrong!r}, then Check; read: {wrong_text!r}")
    print(f"clicked Retry, {right!r}, then Check; read: {right_text!r}")
    print(f"screenshots: {tmp_path / 'quiz-wrong.png'} {tmp_path / 'quiz-right.png'}")
    for text in (wrong_text, right_text):
        assert "Not saved" not in text, f"the quiz did not save an answer: {text}"
    wrong_key, right_key = wrong.split(")")[0], right.split(")")[0]
    assert _answer_rows(db) == [
        (LEARNER, BANK, question.id, first.to_bank_key[wrong_key], wrong_key, first.order_text,
         0, 1),
        (LEARNER, BANK, question.id, second.to_bank_key[right_key], right_key,
         second.order_text, 1, 2),
    ]


# ------------------------------------------------------------------ the mock exam
EXAM_COUNT = 4


def _exam_seed() -> tuple[int, Question]:
    """A seed whose exam holds an ordering question and the long 'automated ML' one."""
    pool, _, weights = load_pool(["exam"])
    for seed in range(1000):
        drawn = draw(pool, ExamConfig(count=EXAM_COUNT, seed=seed, weights=weights))
        ordering = [q for q in drawn if q.type == "ordering"]
        if ordering and any("automated ML" in q.prompt for q in drawn):
            return seed, ordering[0]
    pytest.fail("no seed below 1000 draws an ordering question beside 'automated ML'")


def test_exam_dropdowns_and_review_read_right_in_jupyterlab(tmp_path: Path,
                                                            chromium: Path) -> None:
    """Ordering slots show "—" before a pick; the review wraps between words, even when narrow."""
    from playwright.sync_api import expect, sync_playwright

    folder, db = tmp_path / "lab", tmp_path / "progress.sqlite"
    folder.mkdir()
    seed, ordering = _exam_seed()
    _write_notebook(folder, "from tlcourse import quiz\n"
                            f"quiz.show_exam(count={EXAM_COUNT}, seed={seed}, time_limit=0, "
                            "banks=['exam'])")
    split: dict[int, list[str]] = {}
    with _jupyter_lab(folder, db) as (url, token), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{url}/lab/tree/quiz.ipynb?token={token}")
            try:
                page.locator("[title^='Change kernel for']", has_text="| Idle").wait_for()
                page.locator(".jp-Notebook .jp-Cell .cm-content").first.click()
                page.keyboard.press("Shift+Enter")
                finish = page.get_by_role("button", name="Finish exam", exact=True)
                expect(finish).to_be_visible()
                card = page.locator(".widget-vbox").filter(has_text=ordering.prompt[:60]).last
                expect(card.locator("select")).to_have_count(len(ordering.choices))
                slots = card.element_handle().evaluate(_DROPDOWN_TEXTS_JS)
                card.screenshot(path=tmp_path / "exam-ordering.png")
                finish.click()  # nothing answered: every question is reviewed
                review = page.locator("pre").filter(has_text="Review of missed questions")
                expect(review).to_contain_text("automated ML")
                for width in (1200, 700):  # at 700 px even 88-character lines must wrap
                    page.set_viewport_size({"width": width, "height": 1000})
                    page.wait_for_timeout(300)  # let JupyterLab lay the page out again
                    split[width] = review.element_handle().evaluate(_SPLIT_WORDS_JS)
                    review.screenshot(path=tmp_path / f"exam-review-{width}.png")
            except Exception:
                page.screenshot(path=tmp_path / "failure.png")
                print(f"screenshot of the failure: {tmp_path / 'failure.png'}")
                raise
        finally:
            browser.close()
    print(f"screenshots: {sorted(str(p) for p in tmp_path.glob('exam-*.png'))}")
    assert slots == ["—"] * len(ordering.choices), f"ordering slots displayed {slots}"
    for width, words in split.items():
        assert not words, f"at {width} px the review breaks {len(words)} words: {words[:10]}"
