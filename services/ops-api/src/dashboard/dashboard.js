// RayVault dashboard: plain DOM, no build step. Data only ever goes in via
// textContent, never as HTML. Mutations send the CSRF token from /login.
'use strict';

const $ = (sel) => document.querySelector(sel);
const state = { me: null, timer: null };
const ROLE_RANK = { viewer: 0, operator: 1, admin: 2 };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return e;
}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.me && state.me.csrf) headers['X-CSRF-Token'] = state.me.csrf;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 401 && path !== '/login') showLogin();
  if (!res.ok) throw new Error((data && data.error && data.error.message) || `HTTP ${res.status}`);
  return data;
}

const short = (id) => id.slice(0, 8);
const ago = (iso) => (iso ? `${Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))} s ago` : '-');
const flash = (text, isError) => { const f = $('#flash'); f.textContent = text; f.className = isError ? 'error' : ''; };

function showLogin() {
  clearInterval(state.timer);
  state.me = null;
  $('#app-view').hidden = true;
  $('#logout').hidden = true;
  $('#bull-board').hidden = true;
  $('#who').textContent = '';
  $('#login-view').hidden = false;
}

async function showApp() {
  state.me = await api('/api/me');
  $('#login-view').hidden = true;
  $('#app-view').hidden = false;
  $('#logout').hidden = false;
  $('#bull-board').hidden = state.me.role !== 'admin';
  $('#who').textContent = `${state.me.name} (${state.me.role})`;
  await refresh();
  clearInterval(state.timer);
  state.timer = setInterval(() => refresh().catch(() => undefined), 3000);
}

async function act(run, action) {
  const reason = window.prompt(`Reason to ${action} run ${short(run.id)} (${run.product_name || ''})`);
  if (!reason || !reason.trim()) return flash(`${action} cancelled: a reason is required`, true);
  try {
    const after = await api(`/api/runs/${run.id}/${action}`, { method: 'POST', body: { reason, expected: 'waiting_approval' } });
    flash(`${action}: run ${short(run.id)} is now ${after.status}`);
  } catch (err) {
    flash(`${action} failed: ${err.message}`, true);
  }
  await refresh();
}

function diffTable(diff) {
  const sources = [];
  for (const f of diff) for (const v of f.values) {
    const key = `${v.source} (tier ${v.tier})`;
    if (!sources.includes(key)) sources.push(key);
  }
  const head = el('tr', {}, el('th', {}, 'Field'), ...sources.map((s) => el('th', {}, s)));
  const rows = diff.map((f) => {
    const cells = sources.map((s) => {
      const v = f.values.find((x) => `${x.source} (tier ${x.tier})` === s);
      return el('td', { class: v ? 'differs' : '' }, v ? String(v.value) : '-');
    });
    return el('tr', {}, el('th', {}, f.field), ...cells);
  });
  return el('table', { class: 'diff' }, el('thead', {}, head), el('tbody', {}, ...rows));
}

async function renderGates(gated) {
  const box = $('#gates');
  if (!gated.length) return box.replaceChildren(el('p', { class: 'empty' }, 'No run is waiting for a decision.'));
  const cards = await Promise.all(gated.map(async (run) => {
    const detail = await api(`/api/runs/${run.id}`);
    const gate = detail.evidence.gate || { diff: [], summary: null };
    const card = el('div', { class: 'gate', 'data-gate': run.id },
      el('strong', {}, `${run.product_name || 'run'} `), el('code', {}, run.id),
      el('p', {}, gate.summary || 'Trusted sources disagree on a critical claim.'),
      diffTable(gate.diff));
    if (ROLE_RANK[state.me.role] >= ROLE_RANK.operator) {
      card.append(el('div', { class: 'actions' }, ...['approve', 'refetch', 'abort'].map((a) =>
        el('button', { type: 'button', onclick: () => act(run, a) }, a[0].toUpperCase() + a.slice(1)))));
    }
    return card;
  }));
  box.replaceChildren(...cards);
}

function renderRuns(runs) {
  $('#runs tbody').replaceChildren(...runs.map((r) => el('tr', { 'data-run': r.id },
    el('td', {}, el('code', { title: r.id }, short(r.id))),
    el('td', {}, r.product_name || ''),
    el('td', { class: `status status-${r.status}` }, r.status),
    el('td', {}, r.stage),
    el('td', {}, (r.stages || []).map((s) => `${s.stage}:${s.status}`).join(' ')),
    el('td', {}, r.worker_last_error || ''),
    el('td', {}, ago(r.updated_at)))));
}

function renderWorkers(workers) {
  $('#workers tbody').replaceChildren(...workers.filter((w) => !w.stopped_at).map((w) => el('tr', { 'data-worker': w.id },
    el('td', {}, w.id),
    el('td', { class: `status-${w.state}` }, w.live ? w.state : `${w.state} (stale)`),
    el('td', {}, (w.queues || []).join(', ')),
    el('td', {}, w.current_job || '-'),
    el('td', {}, `${Math.round(w.heartbeat_age_ms / 1000)} s`),
    el('td', {}, w.last_error || ''))));
}

function renderPanics(runs, workers) {
  const items = [
    ...runs.map((r) => el('li', { 'data-panic': r.id }, el('code', {}, short(r.id)), ` ${r.panic_kind || 'panic'}: ${r.worker_last_error || ''}`)),
    ...workers.filter((w) => w.state === 'panic' && !w.stopped_at).map((w) => el('li', {}, `worker ${w.id}: ${w.last_error || 'panic'}`)),
  ];
  $('#panics').replaceChildren(items.length ? el('ul', {}, ...items) : el('p', { class: 'empty' }, 'No panic.'));
}

async function refresh() {
  const [runs, gated, panics, ops] = await Promise.all([
    api('/api/runs?limit=50'), api('/api/runs?status=waiting_approval&limit=20'), api('/api/runs?status=panic&limit=20'), api('/api/ops/queues'),
  ]);
  $('#summary').textContent = `queues ${ops.status}${ops.intake && ops.intake.paused ? ' - intake paused' : ''} - ${runs.total} runs`;
  renderRuns(runs.runs);
  renderWorkers(ops.workers || []);
  renderPanics(panics.runs, ops.workers || []);
  await renderGates(gated.runs);
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('#login-error').textContent = '';
  try {
    await api('/login', { method: 'POST', body: { token: $('#token').value } });
    $('#token').value = '';
    await showApp();
  } catch (err) {
    $('#login-error').textContent = `Login failed: ${err.message}`;
  }
});

$('#logout').addEventListener('click', async () => {
  await api('/logout', { method: 'POST' }).catch(() => undefined);
  showLogin();
});

showApp().catch(() => showLogin());
