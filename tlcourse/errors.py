"""The one base class of the errors a learner or instructor can act on.

Every error the course raises for bad input or a missing asset (a corrupt image, a malformed
quiz bank, a hostile submission, a model folder from another version, ...) derives from
:class:`TlcourseError`, and its message says what went wrong and what to do. The command line
catches this one class: it prints ``tlcourse <command>: <message>`` and exits 1, without a
traceback. Each subclass also keeps the built-in class it had before (``ValueError`` or
``RuntimeError``), so code that caught that still does.

Example:
    >>> from tlcourse.assets import AssetError
    >>> issubclass(AssetError, TlcourseError)
    True
"""


class TlcourseError(Exception):
    """An error whose message tells the reader what to do; the CLI prints it as one line."""
