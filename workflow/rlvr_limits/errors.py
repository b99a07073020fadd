"""Errors that describe a user's mistake (bad config, corrupt file) rather than a bug.

The CLI prints a `UserError` as one clear line and exits with status 2, without a traceback.
"""


class UserError(Exception):
    """A problem the user can fix: the message names the file, key or line at fault."""
