"""Errors raised while turning a document into stored policy chunks; each names the problem."""

from memory.errors import PrivyLoopError


class IngestError(PrivyLoopError):
    code = "ingest_error"


class FetchFailed(IngestError):
    code = "fetch_failed"


class UnsupportedDocument(IngestError):
    code = "unsupported_document"


class DocumentTooLarge(IngestError):
    code = "document_too_large"


class EmptyDocument(IngestError):
    code = "empty_document"


class EmbeddingMismatch(IngestError):
    """Stored vectors come from another model than the one asked to search them."""

    code = "embedding_mismatch"
