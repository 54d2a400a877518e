#!/bin/bash
# Connect: start claude, then leave the user in the session shell.
claude
echo "claude exited; this is the session shell (exit to leave, 'claude' to restart)"
exec bash -l
