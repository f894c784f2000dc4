"""The one error vocabulary of the domain.

Services raise these; a single middleware in ``server`` turns them into
``{"error": {"code", "message", "details"}}`` with the HTTP status below. Keeping
the status on the class (not in handlers) means a service decides *what* went
wrong and the transport only decides *how to say it*.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"
    message = "请求有误"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 details: Any = None) -> None:
        self.message = message or type(self).message
        self.code = code or type(self).code
        self.details = details
        super().__init__(self.message)


class ValidationFailed(DomainError):
    status = 422
    code = "validation_error"
    message = "提交的数据有误"

    @classmethod
    def field(cls, field: str, message: str, *, code: str | None = None) -> "ValidationFailed":
        """A single-field failure, shaped like pydantic's so clients handle one format."""
        return cls(message, code=code, details=[{"field": field, "message": message}])


class NotAuthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    message = "请先登录"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    message = "无权进行此操作"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "请求的内容不存在"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "与现有数据冲突"


class Gone(DomainError):
    status = 410
    code = "gone"
    message = "该内容已失效"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    message = "提交的内容过大"


class TooManyRequests(DomainError):
    status = 429
    code = "rate_limited"
    message = "操作过于频繁，请稍后再试"


class Locked(DomainError):
    status = 423
    code = "account_locked"
    message = "账号已被锁定，请稍后再试"


class Unavailable(DomainError):
    status = 503
    code = "unavailable"
    message = "服务暂不可用，请稍后再试"
