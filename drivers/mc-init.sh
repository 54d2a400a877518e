#!/bin/bash
# mc-init.sh: the standard initialisation of every mc session. It is the container's entrypoint in
# every driver image (run by docker's init as root; mc adds it at build time). Its output is the
# session log. The contract with the engine (paths, file formats, exit codes) is in mc-lib.sh.
#
#  1. create the session user matching the host uid/gid (MC_UID/MC_GID)
#  2. secrets: copy them into the /run/mc tmpfs, readable by the user's group (what docker cp put in
#     the container's layer is kept, root's only, for the next start of a stopped session); read the
#     session's environment (never sourced, never in this root shell's own environment: only the
#     commands run as the session user get it)
#  3. persistent configs: create targets under /mc-config and symlink the driver's sources (never
#     under /app, never over a mounted volume)
#  4. sshd with the user's key when MC_SSH=1
#  5. clone the project (MC_PROJECT_URL) with the credentials named by MC_GIT_SSH_KEY/MC_GIT_TOKEN,
#     offered to the project's host only
#  6. run /app/.mc/init.sh (on the first start only), the driver's pre_command and init.command
# A stopped session that is started again (mc session start) runs all of it again: each step finds
# what it did before (the user, the links, the clone) and keeps it.
#  7. mark the session ready, then wait until it is stopped (docker stop, or `mc stop` inside), its
#     lifetime ends (MC_DEADLINE: exit 98, and mc closes it) or it is idle (MC_IDLE_TIMEOUT: it stops);
#     or, for a session made for one command (MC_ONCE, `create --rm --run`), run it and end with
#     its exit code: the init's own output then goes to /run/mc/init.log, the command's is the output
# A failing step is logged with its reason and the container exits with code 97 ("failed"); the
# reason is always on stderr as "[mc-init] FAILED: ...", which is how mc tells it from a command's 97. A stop
# during steps 1-6 ends the session at once (bash is not PID 1: docker's init forwards the signal).
set -u
umask 022
# shellcheck source=drivers/mc-lib.sh
. /usr/local/lib/mc/lib.sh
RUN=$MC_RUN
mkdir -p "$RUN"
chmod 0755 "$RUN"
rm -f "$RUN/ready" "$RUN/failed"
USER_ENV=()
if [ -n "${MC_ONCE:-}" ]; then
    exec 3>&1 4>&2 >"$RUN/init.log" 2>&1  # keep the command's output clean of the init's
else
    exec 3>&1 4>&2
fi

log() { echo "[mc-init] $*"; }
# answering HOST:PORT: until it accepts a connection, at most 60 s (false when it never does)
answering() {
    local waited=0
    until (exec 5<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; do
        waited=$((waited + 1))
        [ "$waited" -ge 600 ] && return 1
        sleep 0.1
    done
}
fail() {
    echo "[mc-init] FAILED: $*" >&4
    echo "$*" >"$RUN/failed"
    exit "$MC_FAILED_EXIT"
}

# shellcheck disable=SC1091
[ -f /etc/mc/driver.env ] && . /etc/mc/driver.env
log "session ${MC_SESSION_ID:-?} starting (driver ${MC_DRIVER:-?})"

# --- 1. the session user -----------------------------------------------------------------------
MC_UID=${MC_UID:-1000}
MC_GID=${MC_GID:-$MC_UID}
[[ $MC_UID =~ ^[0-9]+$ && $MC_GID =~ ^[0-9]+$ ]] || fail "MC_UID and MC_GID must be numbers"
if [ "$MC_UID" = 0 ]; then
    USER_NAME=root
    USER_HOME=/root
else
    # The lines useradd and groupadd would write, written directly: sessions start often, and those
    # tools cost tens of milliseconds. No password, but not locked ('*'): ssh keys work.
    if ! getent group "$MC_GID" >/dev/null; then
        group=mc
        getent group mc >/dev/null && group=mc$MC_GID
        echo "$group:x:$MC_GID:" >>/etc/group || fail "cannot create group $MC_GID"
    fi
    USER_NAME=$(getent passwd "$MC_UID" | cut -d: -f1)
    if [ -z "$USER_NAME" ]; then
        USER_NAME=mc
        getent passwd mc >/dev/null && USER_NAME=mc$MC_UID
        { echo "$USER_NAME:x:$MC_UID:$MC_GID::/home/$USER_NAME:/bin/bash" >>/etc/passwd &&
          echo "$USER_NAME:*:19000:0:99999:7:::" >>/etc/shadow &&
          mkdir -p "/home/$USER_NAME" && cp -a /etc/skel/. "/home/$USER_NAME/" &&
          chown -R "$MC_UID:$MC_GID" "/home/$USER_NAME"; } || fail "cannot create user $MC_UID"
    else
        usermod -p '*' "$USER_NAME" 2>/dev/null || true  # the image's own user: unlock it for ssh keys
    fi
    USER_HOME=$(getent passwd "$MC_UID" | cut -d: -f6)
    mkdir -p "$USER_HOME"
    chown "$MC_UID:$MC_GID" "$USER_HOME"
fi
export HOME=$USER_HOME USER=$USER_NAME LOGNAME=$USER_NAME
log "user $USER_NAME ($MC_UID:$MC_GID)"

# Run a command as the session user, with the session's environment: exported in a subshell that
# then becomes the command, so the values are in its environment (which only its user and root can
# read), never in a process's arguments.
as_user() {
    (
        [ ${#USER_ENV[@]} -eq 0 ] || export "${USER_ENV[@]}"
        if [ "$MC_UID" = 0 ]; then
            exec "$@"
        fi
        exec setpriv --reuid="$MC_UID" --regid="$MC_GID" --init-groups -- "$@"
    )
}

# --- 2. secrets and the session's environment -----------------------------------------------------
# On a cluster the container starts before mc can copy the secrets in (to its node's engine): wait.
if [ -n "${MC_SECRETS_WAIT:-}" ]; then
    [[ $MC_SECRETS_WAIT =~ ^[0-9]{1,4}$ ]] || fail "MC_SECRETS_WAIT is not a number of seconds"
    for _ in $(seq 1 $((MC_SECRETS_WAIT * 5))); do
        [ -e "$MC_INCOMING/$MC_SECRETS_READY" ] && break
        sleep 0.2
    done
    [ -e "$MC_INCOMING/$MC_SECRETS_READY" ] || fail "the secrets did not arrive within ${MC_SECRETS_WAIT}s"
    rm -f "$MC_INCOMING/$MC_SECRETS_READY"
fi
if [ -d "$MC_INCOMING" ]; then
    { chown -R 0:0 "$MC_INCOMING" && chmod 0700 "$MC_INCOMING"; } || fail "cannot keep the secrets in $MC_INCOMING"
    mkdir -p "$MC_SECRETS"
    cp -a "$MC_INCOMING/." "$MC_SECRETS/" || fail "cannot copy the secrets to $MC_SECRETS"
fi
if [ -d "$MC_SECRETS" ]; then
    # root's, readable by the session user's group: the user cannot change what root reads
    chown -R "0:$MC_GID" "$MC_SECRETS"
    chmod 0750 "$MC_SECRETS"
    chmod 0640 "$MC_SECRETS"/* 2>/dev/null || true
fi
mc_read_env "$MC_SECRETS/env" USER_ENV
[ ${#USER_ENV[@]} -gt 0 ] && log "loaded ${#USER_ENV[@]} variable(s)"
cat >/etc/profile.d/mc.sh <<PROFILE
# mc: the session's environment for the session user's login shells (ssh, connect)
if [ -n "\${BASH_VERSION:-}" ] && [ "\$(id -u)" = "$MC_UID" ] && [ -r /usr/local/lib/mc/lib.sh ]; then
    . /usr/local/lib/mc/lib.sh
    mc_export_env
fi
[ -d /app ] && case "\$PWD" in "\$HOME"|/) cd /app ;; esac
PROFILE

# --- 3. persistent configuration -----------------------------------------------------------------
mounted() {  # a mount point at or below $1 (a volume the user mounted there): never replace it
    awk -v p="$1" '$5 == p || index($5, p "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo
}
if [ -n "${MC_DRIVER_PERSISTENT:-}" ] && [ -n "${MC_CONFIG_DIR:-}" ] && [ -d "$MC_CONFIG_DIR" ]; then
    chown "$MC_UID:$MC_GID" /mc-config 2>/dev/null || true
    IFS=';' read -ra entries <<<"$MC_DRIVER_PERSISTENT"
    for entry in "${entries[@]}"; do
        IFS='|' read -r source target kind <<<"$entry"
        case "$source" in \~/*) source="$USER_HOME/${source#\~/}" ;; esac
        case "$source" in
            /app | /app/* | /mc-config | /mc-config/* | "$RUN" | "$RUN"/*)
                log "persistent $source skipped: not a place for persistent configuration"
                continue ;;
        esac
        if mounted "$source"; then
            log "persistent $source skipped: a volume is mounted there"
            continue
        fi
        if [ "$kind" = file ]; then
            as_user mkdir -p "$(dirname "$target")" && as_user touch "$target"
        else
            as_user mkdir -p "$target"
        fi || fail "cannot create persistent config $target"
        if [ -L "$source" ]; then
            rm -f "$source"
        elif [ -e "$source" ]; then
            # first session of the project: keep what the image put there
            if [ "$kind" = directory ] && [ -z "$(ls -A "$target")" ]; then
                cp -a "$source/." "$target/" 2>/dev/null || true
                chown -R "$MC_UID:$MC_GID" "$target"
            fi
            rm -rf "$source"
        fi
        mkdir -p "$(dirname "$source")"
        ln -s "$target" "$source" || fail "cannot link $source to $target"
        case "$(dirname "$source")" in "$USER_HOME"*) chown -h "$MC_UID:$MC_GID" "$source" ;; esac
        log "persistent $source -> $target"
    done
    chown "$MC_UID:$MC_GID" "$USER_HOME"/.config 2>/dev/null || true
fi

# --- 3b. egress: a session with a policy goes out only through its proxy (MC_EGRESS_PROXY) ---------
# It sits on an internal network: nothing gets out without the proxy. Wait for it (the clone and the
# tool need it), and send ssh through it too.
if [ -n "${MC_EGRESS_PROXY:-}" ]; then
    answering "$MC_EGRESS_PROXY" || fail "the session's egress proxy ($MC_EGRESS_PROXY) is not answering"
    mkdir -p /etc/ssh/ssh_config.d
    printf 'Host *\n    ProxyCommand /usr/local/bin/mc-proxy-connect %s %%h %%p\n' "$MC_EGRESS_PROXY" \
        >/etc/ssh/ssh_config.d/mc-egress.conf
    log "egress through $MC_EGRESS_PROXY"
    # The proxy holds the session's API keys and answers their APIs with certificates of its own CA
    # (one per session; its key never leaves the proxy): trust it, beside the usual roots.
    if [ "${MC_EGRESS_CA:-}" = 1 ]; then
        ca=$(exec 7<>"/dev/tcp/${MC_EGRESS_PROXY%:*}/${MC_EGRESS_PROXY##*:}" &&  # 3 and 4 are the init's own
             printf 'GET http://mitm.it/cert/pem HTTP/1.0\r\nHost: mitm.it\r\n\r\n' >&7 &&
             timeout 10 sed '1,/^\r*$/d' <&7)
        case $ca in *"BEGIN CERTIFICATE"*) ;; *) fail "the egress proxy gave no CA certificate" ;; esac
        for roots in /etc/ssl/certs/ca-certificates.crt /usr/local/share/mc-ca/bundle.pem; do
            if [ -r "$roots" ]; then cat "$roots"; fi
        done >"$MC_RUN/ca-bundle.pem"
        printf '%s\n' "$ca" >>"$MC_RUN/ca-bundle.pem"
        chmod 0644 "$MC_RUN/ca-bundle.pem"
        log "API keys stay in the egress proxy; its CA is trusted for their APIs"
    fi
fi

# --- 4. ssh ---------------------------------------------------------------------------------------
if [ "${MC_SSH:-}" = 1 ]; then
    [ -x /usr/sbin/sshd ] || fail "--ssh: this driver's image has no ssh server (install openssh-server)"
    as_user mkdir -p "$USER_HOME/.ssh"
    printf '%s\n' "${MC_SSH_AUTHORIZED_KEY:-}" >"$USER_HOME/.ssh/authorized_keys"
    chown "$MC_UID:$MC_GID" "$USER_HOME/.ssh/authorized_keys"
    chmod 0700 "$USER_HOME/.ssh"
    chmod 0600 "$USER_HOME/.ssh/authorized_keys"
    ssh-keygen -A >/dev/null 2>&1
    mkdir -p /run/sshd
    /usr/sbin/sshd -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
        -o PermitRootLogin=prohibit-password -o "AllowUsers=$USER_NAME" -o "SetEnv=MC_SESSION_ID=${MC_SESSION_ID:-}" \
        || fail "sshd did not start"
    log "ssh server listening on port 22 for $USER_NAME"
fi

# --- 5. the project -------------------------------------------------------------------------------
export GIT_TERMINAL_PROMPT=0
if [ -n "${MC_PROJECT_URL:-}" ]; then
    log "initializing project $MC_PROJECT_URL"
    git_host=${MC_GIT_HOST:-}
    git_port=${MC_GIT_PORT:-}
    if [ -n "${MC_GIT_SSH_KEY:-}" ]; then
        [ -r "$MC_GIT_SSH_KEY" ] || fail "the project's ssh key file $MC_GIT_SSH_KEY is missing"
        as_user mkdir -p "$USER_HOME/.ssh"
        chmod 0700 "$USER_HOME/.ssh"
        install -m 0600 -o "$MC_UID" -g "$MC_GID" "$MC_GIT_SSH_KEY" "$USER_HOME/.ssh/id_mc_project"
        # the key is offered to the project's host only
        cat >"$USER_HOME/.ssh/config" <<SSHCONF
Host ${git_host:-*}
    IdentityFile $USER_HOME/.ssh/id_mc_project
    IdentitiesOnly yes
Host *
    BatchMode yes
    StrictHostKeyChecking yes
SSHCONF
        chown "$MC_UID:$MC_GID" "$USER_HOME/.ssh/config"
    fi
    scan=${MC_SSH_SCAN:-}
    git_host_scan=""
    [ "${MC_GIT_PROTOCOL:-}" = ssh ] && git_host_scan=$git_host
    if [ -n "$git_host_scan" ] || [ -n "$scan" ]; then
        touch "$USER_HOME/.ssh/known_hosts" 2>/dev/null || { as_user mkdir -p "$USER_HOME/.ssh"; touch "$USER_HOME/.ssh/known_hosts"; }
        for h in $git_host_scan $scan; do
            p=22
            [ "$h" = "$git_host_scan" ] && [ -n "$git_port" ] && p=$git_port
            if [ -n "${MC_EGRESS_PROXY:-}" ]; then  # ssh-keyscan takes no proxy: ssh learns the key
                ssh -F /dev/null -o "ProxyCommand=/usr/local/bin/mc-proxy-connect $MC_EGRESS_PROXY %h %p" \
                    -o StrictHostKeyChecking=accept-new -o "UserKnownHostsFile=$USER_HOME/.ssh/known_hosts" \
                    -o BatchMode=yes -o ConnectTimeout=5 -o PreferredAuthentications=none -p "$p" "mc-scan@$h" true \
                    >/dev/null 2>&1
                grep -q "$h" "$USER_HOME/.ssh/known_hosts"
            else
                ssh-keyscan -T 5 -p "$p" "$h" >>"$USER_HOME/.ssh/known_hosts" 2>/dev/null
            fi || log "ssh-keyscan $h found no host key"
        done
        chown -R "$MC_UID:$MC_GID" "$USER_HOME/.ssh"
    fi
    if [ -n "${MC_GIT_TOKEN:-}" ]; then
        [ -r "$MC_GIT_TOKEN" ] || fail "the project's token file $MC_GIT_TOKEN is missing"
        # asked by git for the project's protocol and host only (and the helper checks them again)
        as_user git config --global "credential.${MC_GIT_PROTOCOL:-https}://${git_host}${git_port:+:$git_port}.helper" \
            /usr/local/bin/mc-git-credential
    fi
    [ -e /app ] || mkdir -p /app
    if [ -n "$(ls -A /app 2>/dev/null)" ]; then
        log "/app is not empty; skipping the clone"
    else
        chown "$MC_UID:$MC_GID" /app
        out=$(cd / && as_user git clone -q -- "$MC_PROJECT_URL" /app 2>&1)
        rc=$?
        [ -n "$out" ] && printf '%s\n' "$out"
        # the reason: the egress proxy's refusal when there is one, else git's last word
        why=$(printf '%s\n' "$out" | grep -m 1 '^mc egress: ' || printf '%s' "$out" | grep -v '^$' | tail -n 1)
        [ $rc = 0 ] || fail "git clone of $MC_PROJECT_URL failed: $why"
        log "cloned $MC_PROJECT_URL into /app"
    fi
fi

# --- 6. project and driver initialisation ----------------------------------------------------------
# MCP servers in containers beside the session (MC_MCP_WAIT: "host:port ..."): wait until each
# accepts connections, so the tool finds them up; one that does not within 60 s is a warning.
if [ -n "${MC_MCP_WAIT:-}" ]; then
    for target in $MC_MCP_WAIT; do
        answering "$target" || log "warning: MCP server at $target is not answering"
    done
    log "MCP servers up"
fi
INITIALIZED=$MC_STATE/initialized  # the project's init ran: a later start leaves it be
if [ -f /app/.mc/init.sh ] && [ ! -e "$INITIALIZED" ]; then
    log "running /app/.mc/init.sh"
    (cd /app && as_user bash /app/.mc/init.sh) || fail "/app/.mc/init.sh exited with code $?"
fi
mkdir -p "${INITIALIZED%/*}" && touch "$INITIALIZED"
if [ -n "${MC_DRIVER_PRE_COMMAND:-}" ]; then
    log "running $MC_DRIVER_PRE_COMMAND"
    bash -c "$MC_DRIVER_PRE_COMMAND" || fail "$MC_DRIVER_PRE_COMMAND exited with code $?"
fi
if [ -n "${MC_DRIVER_COMMAND:-}" ]; then
    log "running $MC_DRIVER_COMMAND"
    (cd /app 2>/dev/null; as_user bash -c "$MC_DRIVER_COMMAND") || fail "$MC_DRIVER_COMMAND exited with code $?"
fi

# --- 7. ready; run the one command, or wait until stopped --------------------------------------------
if [ -n "${MC_ONCE:-}" ]; then
    touch "$RUN/ready"
    log "running the session's command"
    cd /app 2>/dev/null || cd "$USER_HOME" || cd /
    # the command in a process group of its own (setsid), so that a stop, or a Ctrl-C that docker
    # run passes on, ends all of it; `exec` keeps its pid the background job's
    run_once() {
        local command=$MC_ONCE
        unset MC_ONCE
        [ ${#USER_ENV[@]} -eq 0 ] || export "${USER_ENV[@]}"
        if [ "$MC_UID" = 0 ]; then
            exec setsid bash -lc "$command"
        fi
        exec setpriv --reuid="$MC_UID" --regid="$MC_GID" --init-groups -- setsid bash -lc "$command"
    }
    run_once <&- >&3 2>&4 &
    command_pid=$!
    # shellcheck disable=SC2317 # run by the trap
    stop_command() {
        kill -TERM -- "-$command_pid" 2>/dev/null
        wait "$command_pid"
        exit 130
    }
    trap stop_command TERM INT HUP
    if [[ ${MC_DEADLINE:-} =~ ^[0-9]+$ ]]; then  # the command may not outlive the session's lifetime
        ( sleep $((MC_DEADLINE > EPOCHSECONDS ? MC_DEADLINE - EPOCHSECONDS : 0))
          echo "[mc-init] lifetime ended: ending the command" >&4
          kill -TERM $$ ) &
    fi
    wait "$command_pid"
    exit $?
fi

rm -f "$RUN/control"
mkfifo -m 0600 "$RUN/control"
chown "$MC_UID:$MC_GID" "$RUN/control"
idle_limit=${MC_IDLE_TIMEOUT:-0}
[[ $idle_limit =~ ^[0-9]+$ ]] || idle_limit=0
[ "$idle_limit" -gt 0 ] && log "idle stop after ${idle_limit}s without activity"
log "session ready"  # logged before the ready file, and last: mc reads it to know that a 97 is the command's own
touch "$RUN/ready"

stop() {
    log "session stopping"
    exit 0
}
trap stop TERM INT HUP
( while read -r line <"$RUN/control"; do
      # a moment's grace so that `mc stop` itself returns before the session ends
      [ "$line" = stop ] && { sleep 1; kill -TERM $$; break; }
  done ) &

# --- 8. lifetime and idle stop ----------------------------------------------------------------------
# The session watches itself, so no daemon needs to run for it. At its deadline (MC_DEADLINE, moved
# by `mc session extend` in $MC_DEADLINE_FILE) it ends with MC_EXPIRED_EXIT, and mc closes it. Idle
# for MC_IDLE_TIMEOUT seconds it stops (`mc session start` brings it back). Active means: a command
# that came in through mc-exec (connect, exec, run: MC_ATTACHED) or ssh still runs, even one whose
# client went away, or the session's processes used more than 2% of a CPU since the last look.
if [ -n "${MC_DEADLINE:-}" ] && [ ! -e "$MC_DEADLINE_FILE" ]; then
    mkdir -p "$MC_STATE" && echo "$MC_DEADLINE" >"$MC_DEADLINE_FILE"
fi
if [ ! -e "$MC_DEADLINE_FILE" ] && [ "$idle_limit" = 0 ]; then
    while :; do
        sleep infinity &
        wait $!
    done
fi
tick=$((idle_limit / 4))
[ "$tick" -lt 1 ] && tick=1
[ "$tick" -gt 30 ] && tick=30
[ "$idle_limit" = 0 ] && tick=30
cpu_ticks() {  # the CPU time (clock ticks) of the session's processes, this init's own left out
    local total=0 stat line pid
    local -a f
    for stat in /proc/[0-9]*/stat; do
        pid=${stat#/proc/}
        pid=${pid%/stat}
        if [ "$pid" = 1 ] || [ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ]; then continue; fi
        read -r line <"$stat" 2>/dev/null || continue
        read -ra f <<<"${line##*) }"  # after the command name: state, ppid, ... utime is [11], stime [12]
        total=$((total + ${f[11]:-0} + ${f[12]:-0}))
    done
    echo "$total"
}
attached() {  # a command that came in through mc-exec or ssh still runs
    grep -qsaz -e '^MC_ATTACHED=1$' -e '^SSH_CONNECTION=' /proc/[0-9]*/environ
}
last_active=$EPOCHSECONDS
last_cpu=$(cpu_ticks)
mkfifo -m 0600 "$RUN/.tick" && exec 8<>"$RUN/.tick" && rm -f "$RUN/.tick"  # read -t on it: a wait without a child
while :; do
    wait_for=$tick
    deadline=""
    [ -r "$MC_DEADLINE_FILE" ] && read -r deadline <"$MC_DEADLINE_FILE"
    if [[ $deadline =~ ^[0-9]+$ ]]; then
        if [ "$EPOCHSECONDS" -ge "$deadline" ]; then
            log "lifetime ended: closing the session"
            exit "$MC_EXPIRED_EXIT"
        fi
        [ $((deadline - EPOCHSECONDS)) -lt "$wait_for" ] && wait_for=$((deadline - EPOCHSECONDS))
    fi
    read -r -t "$wait_for" -u 8 _
    [ "$idle_limit" -gt 0 ] || continue
    cpu=$(cpu_ticks)
    if attached || [ $((cpu - last_cpu)) -gt $((wait_for * 2)) ]; then  # 2% of a CPU: 100 ticks a second
        last_active=$EPOCHSECONDS
    elif [ $((EPOCHSECONDS - last_active)) -ge "$idle_limit" ]; then
        log "idle for $((EPOCHSECONDS - last_active))s: stopping (mc session start ${MC_SESSION_ID:-ID} brings it back)"
        exit 0
    fi
    last_cpu=$cpu
done
