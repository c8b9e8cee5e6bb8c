"""The one exception type a user ever sees: a single line that names the file and what to do."""


class AmpemuError(Exception):
    """A problem with the user's input or environment, reported as one line (no traceback)."""
