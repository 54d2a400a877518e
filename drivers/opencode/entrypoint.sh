#!/bin/bash
# opencode driver: nothing to start before the user connects.
echo "opencode driver ready: $(opencode --version 2>/dev/null | head -n 1)"
