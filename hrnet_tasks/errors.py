"""Errors that the tools report as one line (no traceback): user mistakes, not bugs."""


class ConfigError(ValueError):
    """A config or command-line value that cannot work; the message names the key and the fix."""


class UnknownArchError(ConfigError, KeyError):
    """An HRNet arch name that is not in the table (also a KeyError, as registries raise)."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0])


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be loaded (empty, truncated, corrupt, not a checkpoint)."""
