"""The one error a user's config or data can raise before any job runs."""


class ConfigError(ValueError):
    """A user mistake in the config or the data set; its message is one line."""
