"""proto <-> engine adapters: decode the request, make one engine call, encode the answer."""
