"""Progress of long loops: a bar with rate and ETA on a terminal, plain lines otherwise.

Used by ``tools/test.py`` (through ``TestProgressHook``), ``data_prep/cityscapes.py``
and ``data_prep/coco.py``. Importing it costs nothing (standard library only).
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


class Progress:
    """Call ``update(n)`` after each chunk of work and ``close()`` at the end.

    On a terminal the bar is redrawn in place (at most 10 times a second). Anywhere
    else (a log file, CI, a pipe) a plain line goes to ``log`` (default: the
    stream) every ``every`` fraction of ``total`` and at the end, so logs stay short.
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

    def status(self) -> str:
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        rate = self.done / elapsed
        text = f'{self.done}/{self.total} {self.what}'
        if self.total:
            text += f' ({100 * self.done / self.total:.0f}%)'
        text += f', {rate:.1f} {self.what}/s'
        if self.done < self.total and rate > 0:
            text += f', ETA {format_duration((self.total - self.done) / rate)}'
        else:
            text += f', {format_duration(elapsed)} in all'
        return self.prefix + text

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

    def _draw(self):
        filled = self.BAR_WIDTH * self.done // self.total if self.total else 0
        bar = '#' * filled + '.' * (self.BAR_WIDTH - filled)
        self.stream.write(f'\r[{bar}] {self.status()}\033[K')
        self.stream.flush()

    def close(self):
        if self._closed:
            return
        self._closed = True
        if self.tty:
            self._draw()
            self.stream.write('\n')
            self.stream.flush()
        else:
            self.log(self.status())
