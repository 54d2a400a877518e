#!/bin/bash
# base driver: nothing to start; keep the shell history in the persistent config.
mkdir -p "$HOME/.mc-history" 2>/dev/null
# shellcheck disable=SC2016 # $HOME is expanded when .bashrc runs
grep -q HISTFILE "$HOME/.bashrc" 2>/dev/null || echo 'export HISTFILE=$HOME/.mc-history/bash_history' >>"$HOME/.bashrc"
echo "base driver ready: $(git --version)"
