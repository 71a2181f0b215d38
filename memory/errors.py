"""Errors raised by the memory layer; the edges (API, CLI, tools) map them to their own forms."""


class PrivyLoopError(Exception):
    """Base of every error raised on purpose; carries a stable code."""

    code = "memory_error"


class CatalogInvalid(PrivyLoopError):
    code = "catalog_invalid"


class NotFound(PrivyLoopError):
    code = "not_found"


class UserNotFound(NotFound):
    code = "user_not_found"


class PlatformNotFound(NotFound):
    code = "platform_not_found"


class TemplateNotFound(NotFound):
    code = "template_not_found"


class ScanRejected(PrivyLoopError):
    code = "scan_rejected"


class Conflict(PrivyLoopError):
    code = "conflict"
