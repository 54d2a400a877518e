"""OIDC login for remotes: loopback PKCE flow, device flow, and the encrypted token store."""
