"""Database helpers that know no app: batched changes over large tables (``batches``)."""
