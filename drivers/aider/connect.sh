#!/bin/bash
# Connect: start aider, then leave the user in the session shell.
aider
echo "aider exited; this is the session shell (exit to leave, 'aider' to restart)"
exec bash -l
