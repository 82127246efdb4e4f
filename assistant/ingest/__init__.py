"""Ingest: documents in, an index out (loading, chunking, embedding, the store on disk,
indexing, the library)."""
