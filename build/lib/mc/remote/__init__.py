"""Remote mode: the gRPC adapters shared by mcd and mc (status table, conversions) and the client."""
