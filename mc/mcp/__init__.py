"""MCP servers a user registers once and attaches to sessions (``mc mcp``, ``--mcp NAME``)."""
