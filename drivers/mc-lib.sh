# shellcheck shell=bash
# mc-lib.sh: the container side of mc's session contract, sourced by mc-init.sh, mc-exec and login
# shells (installed as /usr/local/lib/mc/lib.sh). The engine's side is mc/engine/contract.py; a test
# checks that both spell the same paths, names and codes.
#
#   /run/mc              a tmpfs: ready, failed, control, and secrets/ (never in the image layer)
#   /run/mc-incoming     where mc copies the secrets before the start; mc-init moves them to the tmpfs
#                        (on a cluster the container starts first: mc-init waits MC_SECRETS_WAIT seconds
#                        for .ready, the last file mc copies)
#   secrets/env          the session's environment: KEY=VALUE records separated by NUL bytes. It is
#                        read, never sourced: no key or value is ever run as code.
#   secrets/git_ssh_key  secrets/git_token   the project's credentials (MC_GIT_SSH_KEY, MC_GIT_TOKEN)
#   secrets/mcp          the session's MCP servers in its tool's form (MC_MCP_FILE), for the driver's init
#   exit code 97         a start step failed (the reason is in /run/mc/failed and the log)
#   exit code 98         the session's lifetime ended (MC_DEADLINE, then /var/lib/mc/deadline)
#   /var/lib/mc          kept in the container while it is stopped: initialized, deadline

# shellcheck disable=SC2034 # used by the scripts that source this file
{
    MC_RUN=/run/mc
    MC_INCOMING=/run/mc-incoming
    MC_SECRETS_READY=.ready
    MC_SECRETS=$MC_RUN/secrets
    MC_FAILED_EXIT=97
    MC_EXPIRED_EXIT=98
    MC_STATE=/var/lib/mc
    MC_DEADLINE_FILE=$MC_STATE/deadline
}

# mc_read_env FILE ARRAY: the valid KEY=VALUE records of FILE into the array ARRAY. Names are
# checked again here (the engine checks them first) and MC_* names, which belong to mc, are skipped.
mc_read_env() {
    local -n _mc_out=$2
    local _mc_rec
    _mc_out=()
    [ -r "$1" ] || return 0
    while IFS= read -r -d '' _mc_rec; do
        [[ $_mc_rec =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || continue
        [[ $_mc_rec == MC_* ]] && continue
        _mc_out+=("$_mc_rec")
    done <"$1"
}

# mc_export_env: export the session's environment into this shell (as the session user only).
mc_export_env() {
    local _mc_envs _mc_kv
    mc_read_env "$MC_SECRETS/env" _mc_envs
    for _mc_kv in "${_mc_envs[@]}"; do
        export "${_mc_kv?}"
    done
}
