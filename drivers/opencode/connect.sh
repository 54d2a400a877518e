#!/bin/bash
# Connect: start opencode, then leave the user in the session shell.
opencode
echo "opencode exited; this is the session shell (exit to leave, 'opencode' to restart)"
exec bash -l
