// mc's page: the user's sessions, a terminal (xterm.js) or live logs for one. No token ever reaches
// this page: the login is an HttpOnly cookie the browser sends by itself.
'use strict';

const $ = (sel) => document.querySelector(sel);
const status = (text) => { $('#status').textContent = text; };
let current = null; // what the open view must close when left

async function api(path) {
  let resp;
  for (let attempt = 0; ; attempt++) {
    try {
      resp = await fetch(path, { credentials: 'same-origin' });
      break;
    } catch (err) { // the network changed under the request (a laptop's Wi-Fi, a host's new interfaces)
      if (attempt >= 4) throw err;
      await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
    }
  }
  if (resp.status === 401) { location.href = '/auth/login'; throw new Error('not logged in'); }
  const body = await resp.json();
  if (!resp.ok) throw new Error(body.error || resp.statusText);
  return body;
}

function show(view) {
  for (const id of ['list-view', 'terminal-view', 'logs-view']) $('#' + id).hidden = id !== view;
}

function wsUrl(path) {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path;
}

async function listView() {
  show('list-view');
  $('#where').textContent = '';
  const sessions = await api('/api/sessions');
  const body = $('#sessions tbody');
  body.replaceChildren();
  for (const s of sessions) {
    const row = document.createElement('tr');
    for (const v of [s.id, s.name, s.status, s.driver, s.project, s.created]) {
      const td = document.createElement('td');
      td.textContent = v || '';
      row.append(td);
    }
    const actions = document.createElement('td');
    for (const [label, view] of [['Terminal', 'terminal'], ['Logs', 'logs']]) {
      if (view === 'terminal' && s.status !== 'running') continue;
      const b = document.createElement('button');
      b.textContent = label;
      b.dataset.session = s.id;
      b.className = view;
      b.onclick = () => { location.hash = `#/${view}/${encodeURIComponent(s.id)}`; };
      actions.append(b);
    }
    row.append(actions);
    body.append(row);
  }
  $('#empty').hidden = sessions.length > 0;
  status(`${sessions.length} session(s)`);
}

async function terminalView(id) {
  await api(`/api/sessions/${encodeURIComponent(id)}`); // not found, not yours: said before any terminal
  show('terminal-view');
  $('#where').textContent = `session ${id}`;
  const el = $('#terminal');
  el.replaceChildren();
  const term = new Terminal({ cursorBlink: true, scrollback: 5000, fontSize: 14 });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(el);
  fit.fit();
  window.mcTerm = term; // for tests and the console
  const key = `mc-shell:${id}`; // which shell this tab holds (not a credential: resuming needs the login)
  const ws = new WebSocket(wsUrl(`/ws/terminal/${encodeURIComponent(id)}`));
  ws.binaryType = 'arraybuffer';
  const enc = new TextEncoder();
  let ended = false;
  const send = (data) => { if (ws.readyState === WebSocket.OPEN) ws.send(data); };
  ws.onopen = () => {
    send(JSON.stringify({ type: 'init', rows: term.rows, cols: term.cols, resume: sessionStorage.getItem(key) || '' }));
    term.focus();
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data !== 'string') { term.write(new Uint8Array(ev.data)); return; }
    const msg = JSON.parse(ev.data);
    if (msg.type === 'shell') {
      sessionStorage.setItem(key, msg.id);
      status(msg.resumed ? `resumed shell ${msg.id}` : `shell ${msg.id}`);
    } else if (msg.type === 'exit') {
      ended = true;
      sessionStorage.removeItem(key);
      term.write(`\r\n[exited with code ${msg.code}]\r\n`);
      status(`exited with code ${msg.code}`);
      document.body.dataset.exitCode = String(msg.code);
    } else if (msg.type === 'error') {
      ended = true;
      status(msg.message);
    }
  };
  ws.onclose = () => { if (!ended) status('disconnected: reload to resume the shell'); };
  const data = term.onData((d) => send(enc.encode(d)));
  const binary = term.onBinary((d) => send(Uint8Array.from(d, (c) => c.charCodeAt(0))));
  const resized = term.onResize(({ rows, cols }) => send(JSON.stringify({ type: 'resize', rows, cols })));
  const observer = new ResizeObserver(() => fit.fit());
  observer.observe(el);
  current = () => {
    observer.disconnect();
    data.dispose(); binary.dispose(); resized.dispose();
    ws.onclose = null;
    ws.close();
    term.dispose();
    window.mcTerm = undefined;
  };
}

async function logsView(id) {
  await api(`/api/sessions/${encodeURIComponent(id)}`);
  show('logs-view');
  $('#where').textContent = `logs of ${id}`;
  const pre = $('#logs');
  pre.textContent = '';
  const dec = new TextDecoder();
  const ws = new WebSocket(wsUrl(`/ws/logs/${encodeURIComponent(id)}`));
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (ev) => {
    const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.append(dec.decode(new Uint8Array(ev.data), { stream: true }));
    if (stick) pre.scrollTop = pre.scrollHeight;
  };
  ws.onopen = () => status('following');
  ws.onclose = () => status('log stream ended');
  current = () => { ws.onclose = null; ws.close(); };
}

async function route() {
  if (current) { current(); current = null; }
  const m = location.hash.match(/^#\/(terminal|logs)\/(.+)$/);
  try {
    if (!m) await listView();
    else if (m[1] === 'terminal') await terminalView(decodeURIComponent(m[2]));
    else await logsView(decodeURIComponent(m[2]));
  } catch (err) {
    status(String(err.message || err));
  }
}

async function start() {
  const me = await api('/api/me');
  $('#user').textContent = me.user + (me.admin ? ' (admin)' : '');
  $('#home').onclick = (ev) => { ev.preventDefault(); location.hash = ''; };
  window.addEventListener('hashchange', route);
  await route();
}

start().catch((err) => status(String(err.message || err)));
