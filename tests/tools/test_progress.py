"""hrnet_tasks.progress: the rate reads s/image below one image a second, plain lines off a
terminal, rich's bar on one, and importing the module loads no rich."""
import io
import subprocess
import sys

import pytest

from hrnet_tasks import progress as progress_module
from hrnet_tasks.progress import Progress, format_rate


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    """A fake ``time.perf_counter``: ``clock.tick(s)`` moves it on by s seconds."""

    class Clock:
        now = 0.0

        def tick(self, seconds):
            self.now += seconds

    fake = Clock()
    monkeypatch.setattr(progress_module.time, 'perf_counter', lambda: fake.now)
    return fake


def test_rate_reads_seconds_per_item_below_one_a_second():
    assert format_rate(10, 4.0) == '2.5 images/s'
    assert format_rate(4, 4.0) == '1.0 images/s'
    assert format_rate(4, 18.0) == '4.5 s/image'
    assert format_rate(2, 50.0, 'label maps') == '25.0 s/label map'


def test_plain_lines_of_a_slow_run_show_seconds_per_image(clock):
    lines = []
    bar = Progress(10, 'images', prefix='test: ', log=lines.append, every=0.2)
    for _ in range(10):
        clock.tick(4.5)
        bar.update()
    bar.close()
    assert lines == [
        'test: 2/10 images (20%), 4.5 s/image, ETA 36s',
        'test: 4/10 images (40%), 4.5 s/image, ETA 27s',
        'test: 6/10 images (60%), 4.5 s/image, ETA 18s',
        'test: 8/10 images (80%), 4.5 s/image, ETA 9s',
        'test: 10/10 images (100%), 4.5 s/image, 45s in all',
    ]


def test_plain_lines_of_a_fast_run_show_images_per_second(clock):
    lines = []
    bar = Progress(8, 'images', log=lines.append, every=0.5)
    for _ in range(8):
        clock.tick(0.25)
        bar.update()
    bar.close()
    assert lines == ['4/8 images (50%), 4.0 images/s, ETA 1s',
                     '8/8 images (100%), 4.0 images/s, 2s in all']


def test_terminal_bar_is_rich_and_reads_seconds_per_image(clock):
    term = _Terminal()
    bar = Progress(3, 'images', prefix='test: ', stream=term)
    for _ in range(3):
        clock.tick(26.0)
        bar.update()
    bar.close()
    drawn = term.getvalue()
    assert '━' in drawn and 'test:' in drawn  # rich's bar column and the prefix
    assert '1/3 images (33%), 26.0 s/image, ETA 52s' in drawn
    assert '3/3 images (100%), 26.0 s/image, 1m18s in all' in drawn
    assert 'images/s' not in drawn
    assert drawn.replace('\x1b[?25h', '').endswith('\n')


def test_import_loads_no_rich():
    probe = 'import sys, hrnet_tasks.progress; print(sorted(m for m in ("rich", "torch") ' \
            'if m in sys.modules))'
    out = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True,
                         check=True, cwd=progress_module.__file__.rsplit('/hrnet_tasks/', 1)[0])
    assert out.stdout.strip() == '[]'
