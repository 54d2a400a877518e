#!/bin/bash
# aider driver: nothing to start before the user connects.
echo "aider driver ready: $(aider --version 2>/dev/null | head -n 1)"
