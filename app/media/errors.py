"""The one error type of the media pipeline."""


class MediaError(ValueError):
    """A file that cannot be used; str() is a complete sentence for a person, naming the file."""
