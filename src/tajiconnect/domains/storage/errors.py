"""The one refusal of the storage service: a message for the person, and the HTTP status it maps to."""

from __future__ import annotations


class StorageError(Exception):
    """413: too large; 415: a type this purpose does not take; 404: no such file or upload here; 409: the upload is
    not in a state that allows this (finished, parts missing); 422: anything else the person must fix (a part of
    the wrong size)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class FilesLeftError(OSError):
    """Objects under ``prefix`` that the store would not delete (``failed``: how many, ``sample``: a few keys and
    the store's reasons). What was deleted stays deleted; deleting the prefix again retries the rest."""

    def __init__(self, prefix: str, failed: int, sample: list[str]) -> None:
        super().__init__(f"{failed} object(s) under {prefix} could not be deleted: {'; '.join(sample)}")
        self.prefix, self.failed, self.sample = prefix, failed, sample
