"""mcd: the gRPC daemon that runs mc sessions for remote users."""
