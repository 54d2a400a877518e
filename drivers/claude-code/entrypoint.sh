#!/bin/bash
# claude-code driver: nothing to start before the user connects.
echo "claude-code driver ready: $(claude --version 2>/dev/null | head -n 1)"
