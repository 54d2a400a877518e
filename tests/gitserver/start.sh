#!/bin/bash
# Configure from the environment, then serve: GIT_AUTHORIZED_KEY (ssh public key of the client),
# GIT_TOKEN (the HTTP password of user x-access-token). Creates /srv/git/private.git with one commit
# and an .mc/init.sh that leaves a marker.
set -e
ssh-keygen -A >/dev/null
git config --system --add safe.directory "*"
install -d -m 0700 -o git -g git /home/git/.ssh
printf '%s\n' "$GIT_AUTHORIZED_KEY" >/home/git/.ssh/authorized_keys
chown git:git /home/git/.ssh/authorized_keys && chmod 0600 /home/git/.ssh/authorized_keys
htpasswd -bc /etc/apache2/git.htpasswd x-access-token "$GIT_TOKEN" 2>/dev/null
if [ ! -d /srv/git/private.git ]; then
    git init -q --bare -b main /srv/git/private.git
    work=$(mktemp -d)
    git -C "$work" init -q -b main
    mkdir -p "$work/.mc"
    echo "# private project" >"$work/README.md"
    # shellcheck disable=SC2016 # expanded when the project's init runs
    printf '#!/bin/bash\necho "project init ran as $(id -un)" > /app/.mc-init-ran\n' >"$work/.mc/init.sh"
    git -C "$work" add -A
    git -C "$work" -c user.name=t -c user.email=t@t commit -qm "initial"
    git -C "$work" push -q /srv/git/private.git main
    git -C /srv/git/private.git config http.receivepack true
    git -C /srv/git/private.git config core.sharedRepository 0666
    chown -R git:git /srv/git
    chmod -R a+rwX /srv/git
fi
if [ -r /tls/server.pem ]; then
    cat >/etc/apache2/sites-enabled/tls.conf <<'TLS'
<VirtualHost *:443>
    SSLEngine on
    SSLCertificateFile /tls/server.pem
    SSLCertificateKeyFile /tls/server.key
</VirtualHost>
TLS
fi
/usr/sbin/sshd -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no
exec apache2ctl -D FOREGROUND
