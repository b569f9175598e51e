"""The one error type services raise; its message is shown to the planner as it is."""


class EngageError(Exception):
    """Bad input or a forbidden action, explained in words a planner understands."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(EngageError):
    pass


class NotVisible(NotFound):
    """A model or run that does not exist or that this user may not see: the same words either way (a
    private model's existence is not revealed). For a visitor without a login, a login might show it."""


class PermissionDenied(EngageError):
    pass


class LoginRequired(EngageError):
    """The login ended (logged out elsewhere, expired) while the page was open."""


class AccountNotActive(EngageError):
    """The password was right, but the account's email address is not confirmed yet."""
