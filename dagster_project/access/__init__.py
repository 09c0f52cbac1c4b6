"""Zone-level access control on the PostgreSQL warehouse, and secret masking for messages."""
