"""Progress of long loops: rich's progress bar on a terminal, short plain lines otherwise.

Used by ``tools/test.py`` (through ``TestProgressHook``), ``data_prep/cityscapes.py``
and ``data_prep/coco.py``. Importing it costs nothing: ``rich`` (installed with
mmengine) is imported only when a bar is drawn, so ``--help`` stays fast.

The rate reads ``3.2 images/s``, or ``4.5 s/image`` for runs slower than one item a
second (where a rate would read ``0.0 images/s``).
"""
import sys
import time
from typing import Callable, Optional, TextIO


def format_duration(seconds: float) -> str:
    seconds = int(round(max(seconds, 0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f'{hours}h{minutes:02d}m'
    return f'{minutes}m{secs:02d}s' if minutes else f'{secs}s'


def format_rate(done: int, elapsed: float, what: str = 'images') -> str:
    """``12.3 images/s``; below one item a second the time per item, ``4.5 s/image``."""
    if done >= elapsed:
        return f'{done / elapsed:.1f} {what}/s'
    unit = what[:-1] if what.endswith('s') else what  # 'images' -> 'image'
    return f'{elapsed / done:.1f} s/{unit}'


class Progress:
    """Call ``update(n)`` after each chunk of work and ``close()`` at the end.

    On a terminal, a rich progress bar redrawn in place (at most 10 times a second).
    Anywhere else (a log file, CI, a pipe) a plain line goes to ``log`` (default: the
    stream) every ``every`` fraction of ``total`` and at the end, so logs stay short.
    Both show the same status: ``12/50 images (24%), 3.2 images/s, ETA 12s``.
    """

    BAR_WIDTH = 30

    def __init__(self, total: int, what: str = 'images', prefix: str = '',
                 stream: Optional[TextIO] = None, log: Optional[Callable[[str], None]] = None,
                 every: float = 0.1):
        self.total = max(int(total), 0)
        self.what = what
        self.prefix = prefix
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, 'isatty', lambda: False)())
        self.log = log or (lambda text: print(text, file=self.stream, flush=True))
        self.step = max(1, int(self.total * every))
        self.done = 0
        self.start = time.perf_counter()
        self._next_line = self.step
        self._last_draw = 0.0
        self._closed = False
        self._bar = self._start_bar() if self.tty else None

    def _counts(self) -> str:
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        text = f'{self.done}/{self.total} {self.what}'
        if self.total:
            text += f' ({100 * self.done / self.total:.0f}%)'
        if self.done:
            text += f', {format_rate(self.done, elapsed, self.what)}'
        if self.done and self.done < self.total:
            text += f', ETA {format_duration((self.total - self.done) * elapsed / self.done)}'
        elif self.done >= self.total:
            text += f', {format_duration(elapsed)} in all'
        return text

    def status(self) -> str:
        return self.prefix + self._counts()

    def _start_bar(self):
        from rich.console import Console
        from rich.progress import BarColumn
        from rich.progress import Progress as RichProgress
        from rich.progress import TextColumn

        # no stream redirection: the loggers writing beside the bar hold the real stream
        bar = RichProgress(TextColumn('{task.description}'), BarColumn(bar_width=self.BAR_WIDTH),
                           TextColumn('{task.fields[status]}'),
                           console=Console(file=self.stream, force_terminal=True),
                           auto_refresh=False, redirect_stdout=False, redirect_stderr=False)
        self._task = bar.add_task(self.prefix.strip(), total=self.total or None,
                                  status=self._counts())
        bar.start()
        return bar

    def _draw(self):
        self._bar.update(self._task, completed=self.done, status=self._counts())
        self._bar.refresh()

    def update(self, n: int = 1):
        self.done = min(self.done + n, self.total) if self.total else self.done + n
        if self.tty:
            now = time.perf_counter()
            if now - self._last_draw >= 0.1 and self.done < self.total:  # close() draws the end
                self._last_draw = now
                self._draw()
        elif self.done >= self._next_line and self.done < self.total:
            self._next_line = (self.done // self.step + 1) * self.step
            self.log(self.status())

    def close(self):
        if self._closed:
            return
        self._closed = True
        if self.tty:
            self._bar.update(self._task, completed=self.done, status=self._counts())
            self._bar.stop()  # draws the final state and ends the line
        else:
            self.log(self.status())
