"""Exceptions of the job machinery.

``JobError``
    Base class. Its message is stored on the outbox row and logged verbatim, so it must never carry PHI: a job
    handler raises it (or a subclass) with ids and codes only, e.g. ``JobError("partner answered 503")``.
``JobArgumentError``
    ``enqueue`` refused the arguments (not ids, wrong names for the handler).
``UnknownJobError``
    No handler is registered under that name (typo, or the module defining it was not imported).
``HandlerCommitError``
    A handler tried to commit; the runner commits once, together with the outbox row (G6/G7).
``JobAttemptFailed``
    Raised by the RQ entry point after a failed attempt that will be retried, carrying only the sanitised
    description, so neither RQ's logs nor the job hash in Redis ever see the original exception's message.
"""

from __future__ import annotations


class JobError(Exception):
    """A job failure whose message is safe to store and log (ids and codes only, never PHI)."""


class JobArgumentError(JobError, ValueError):
    """Arguments given to ``enqueue`` are not plain ids."""


class UnknownJobError(JobError, LookupError):
    """No job is registered under the name."""


class HandlerCommitError(JobError):
    """A handler called ``commit()``; only the runner may commit."""


class JobAttemptFailed(JobError):
    """An attempt failed and will be retried; the message is the sanitised description of the real error."""
