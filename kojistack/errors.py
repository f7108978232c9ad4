"""Errors the user caused, reported in the user's terms with exit status 2."""


class UserError(Exception):
    """Bad input: a config key, a flag, a parameter or a file. The CLI prints it and exits 2."""

    exit_code = 2


class OperationError(Exception):
    """An operation on AWS or a hub failed for a reason outside the user's input. Exit status 1."""

    exit_code = 1
