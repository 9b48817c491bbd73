"""The one error type of the media pipeline."""

from app.i18n import Problem


class MediaError(Problem, ValueError):
    """A file that cannot be used; its text is a complete sentence naming the file."""
