"""Course discussions and Q&A (docs/discussions.md)."""
