"""Every relative link in README.md and docs/ points at a file that exists and, with a
``#fragment``, at a heading of that file (GitHub's anchor rule)."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / 'README.md'] + sorted((ROOT / 'docs').rglob('*.md'))
LINK = re.compile(r'(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)')


def strip_code(text: str) -> str:
    """The text without fenced blocks and inline code, where brackets are not links."""
    text = re.sub(r'^```.*?^```', '', text, flags=re.S | re.M)
    return re.sub(r'`[^`\n]*`', '', text)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r'`', '', heading.strip().lower())
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(page: Path) -> set:
    text = re.sub(r'^```.*?^```', '', page.read_text(), flags=re.S | re.M)
    return {anchor(m.group(1)) for m in re.finditer(r'^#+\s+(.*)$', text, flags=re.M)}


def relative_links(page: Path):
    for match in LINK.finditer(strip_code(page.read_text())):
        target = match.group(1) or match.group(2)
        if not re.match(r'^[a-z]+:', target):
            yield target


def test_anchor_rule():
    assert anchor('Train and test') == 'train-and-test'
    assert anchor('`--compile`') == '--compile'
    assert anchor('Joint multi-task model (one backbone pass, several heads)') == \
        'joint-multi-task-model-one-backbone-pass-several-heads'


def test_pages_have_links():
    assert sum(1 for _ in relative_links(ROOT / 'README.md')) >= 10


@pytest.mark.parametrize('page', PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for target in relative_links(page):
        path, _, fragment = target.partition('#')
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f'{target}: no file {dest.relative_to(ROOT)}')
        elif fragment and dest.suffix == '.md' and fragment not in anchors(dest):
            broken.append(f'{target}: no heading #{fragment} in {dest.relative_to(ROOT)}')
    assert not broken, f'{page.relative_to(ROOT)}: ' + '; '.join(broken)
