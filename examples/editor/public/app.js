// Two editors of one file, side by side, each with its own session and its own
// WebSocket, as two browser tabs would have. Plain JS, no build step.
// URL parameters: ?project=UUID&file=UUID&users=alice,bob (defaults: the gateway's demo file).
'use strict';

const HEARTBEAT_MS = 10000;   // touch_session
const AUTOSAVE_MS = 800;      // save_draft after typing stops
const RECONNECT_MS = 300;     // first retry; doubles up to 5 s

async function api(method, url, body, token) {
  const headers = body ? { 'content-type': 'application/json' } : {};
  if (token) headers['x-session-token'] = token;   // the session's secret: only this tab has it
  const res = await fetch(url, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const json = await res.json().catch(() => ({}));
  return { status: res.status, ok: res.ok, body: json };
}

// An error answer as a line: a 423 names who holds the lock and until when.
function refusal(r) {
  const h = r.body.holder;
  return h ? `${r.status} locked by ${h.name} until ${new Date(h.expiresAt).toLocaleTimeString()}`
           : `${r.status} ${r.body.error}`;
}

class Editor {
  constructor(root, name, projectId, fileId) {
    Object.assign(this, { root, name, projectId, fileId });
    this.el = {};
    root.querySelectorAll('[data-role]').forEach((e) => { this.el[e.dataset.role] = e; });
    root.querySelector('.who').textContent = name;
    this.version = null;       // the base: the version the text was read at
    this.baseText = '';        // its text (the editor is dirty when the textarea differs)
    this.headVersion = null;   // the newest version known (ahead of the base when behind)
    this.cursor = null;        // the last feed cursor handled (a string of digits)
    this.conflictId = null;
    this.lastCatchUp = null;   // events received by the last catch-up
    this.reconnects = 0;
    this.ready = false;
    this.el.text.addEventListener('input', () => this.onInput());
    this.el.save.onclick = () => this.save();
    this.el['lock-btn'].onclick = () => this.lock();
    this.el['unlock-btn'].onclick = () => this.unlock();
    this.el['history-btn'].onclick = () => this.showHistory();
    this.el.ours.onclick = () => this.resolve({ choose: 'ours' });
    this.el.theirs.onclick = () => this.resolve({ choose: 'theirs' });
    this.el.edited.onclick = () => this.resolve({ content: this.el.text.value });
  }

  get dirty() { return this.el.text.value !== this.baseText; }

  // Open the session, then the WebSocket (LISTEN first), then read the file.
  async start() {
    await this.openSession();
    await this.connect();
    await this.reload();
    const o = await this.call('POST', `/api/v1/files/${this.fileId}/open`, { sessionId: this.sessionId });
    for (const w of o.body.warnings || []) this.toast(`${w.kind}: ${w.name || ''} ${w.message || ''}`);
    await this.refreshPresence();
    setInterval(() => this.send({ type: 'heartbeat' }), HEARTBEAT_MS);
    this.ready = true;
  }

  // A session and its secret token (every request and socket shows it).
  async openSession() {
    const s = await api('POST', '/api/v1/sessions', { name: this.name, projectId: this.projectId });
    if (!s.ok) throw new Error(`open_session: ${s.body.error}`);
    this.sessionId = s.body.sessionId;
    this.token = s.body.token;
  }

  // A request naming the tab's session. A 401 (VC005: the session was closed or
  // timed out, or the gateway does not know it) opens a new session and tries once
  // more; unsaved text is kept, and saved again as the new session's draft.
  async call(method, url, body) {
    const withSid = () => (body ? [url, { ...body, sessionId: this.sessionId }]
      : [url.replace(/sessionId=[^&]*/, `sessionId=${this.sessionId}`), undefined]);
    let r = await api(method, ...withSid(), this.token);
    if (r.status === 401) {
      await this.renewSession();
      r = await api(method, ...withSid(), this.token);
    }
    return r;
  }

  async renewSession() {
    if (!this.renewing) {
      this.renewing = (async () => {
        const hadDraft = this.hasDraft && this.dirty;
        await this.openSession();
        this.message(hadDraft ? 'session expired: a new one is open; your unsaved text is kept as its draft'
                              : 'session expired: a new one is open');
        if (hadDraft) {
          await api('POST', `/api/v1/files/${this.fileId}/draft`,
                    { sessionId: this.sessionId, baseVersion: this.version, content: this.el.text.value }, this.token);
        }
        await api('POST', `/api/v1/files/${this.fileId}/open`, { sessionId: this.sessionId }, this.token);
        if (this.ws) this.ws.close();                    // the socket reconnects with the new session
      })().finally(() => { this.renewing = null; });
    }
    return this.renewing;
  }

  connect() {
    return new Promise((resolve) => {
      const proto = location.protocol === 'https:' ? 'wss' : 'ws';
      const cursor = this.cursor === null ? '' : `&cursor=${this.cursor}`;
      // The token goes as a subprotocol (a header), not in the URL, which access logs keep.
      const ws = new WebSocket(`${proto}://${location.host}/ws?project=${this.projectId}&session=${this.sessionId}${cursor}`,
                               ['ce.v1', `ce.token.${this.token}`]);
      this.ws = ws;
      let helloed = false;
      ws.onmessage = (m) => {
        const e = JSON.parse(m.data);
        if (e.type === 'hello') {
          this.cursor = e.cursor;
          this.lastCatchUp = e.caughtUp;
          if (e.reset) this.needsReload = true;            // events were pruned: re-read the file
          this.backoff = RECONNECT_MS;
          helloed = true;
          this.setSync();
          resolve();
        } else if (e.type === 'event') {
          this.cursor = e.cursor;
          this.onEvent(e, !helloed);
        } else if (e.type === 'reset') {                  // the gateway missed pruned events:
          this.cursor = e.cursor;                          // re-read the file (kept if dirty)
          this.reload();
        } else if (e.type === 'error') {
          if (e.status === 401) this.expired = true;       // reconnect with a new session
          else this.message(`gateway: ${e.error}`, true);
        }
      };
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.setSync('offline');
        this.backoff = Math.min((this.backoff || RECONNECT_MS) * (helloed ? 1 : 2), 5000);
        setTimeout(async () => {
          this.reconnects++;
          if (this.expired) { this.expired = false; await this.renewSession().catch(() => {}); }
          this.connect().then(() => this.afterReconnect()).catch(() => {});
        }, this.backoff);
        resolve();
      };
    });
  }

  // After a catch-up: a version of this file that came without its text (or
  // while the tab was away) is read once.
  async afterReconnect() {
    if (this.needsReload && !this.dirty) await this.reload();
    this.needsReload = false;
    this.refreshPresence();
  }

  send(m) { if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(m)); }

  // Reads the head: shown, or, over unsaved changes, only noted as newer (the save merges).
  async reload() {
    const r = await this.call('GET', `/api/v1/files/${this.fileId}?sessionId=${this.sessionId}`);
    if (!r.ok) return;
    if (!this.dirty) {
      this.apply(r.body.version, r.body.content);
    } else if (r.body.version > this.version) {
      this.headVersion = Math.max(r.body.version, this.headVersion || 0);
      this.setSync();
    }
  }

  // Shows a version of the file (the base from now on).
  apply(version, content) {
    this.version = version;
    this.headVersion = Math.max(version, this.headVersion || 0);
    this.baseText = content;
    this.el.text.value = content;
    this.setSync();
    this.root.dispatchEvent(new CustomEvent('ce-applied', { detail: { version, at: performance.now() } }));
  }

  onEvent(e, catchingUp) {
    if (e.fileId !== this.fileId) return;
    const who = e.name || 'someone';
    switch (e.event) {
      case 'version':
        if (e.version <= this.version) return;           // already shown
        if (e.sessionId === this.sessionId && this.saving) return; // our save: its response applies it
        this.headVersion = Math.max(e.version, this.headVersion || 0);
        if (!this.dirty && e.content !== undefined) {
          this.apply(e.version, e.content);
        } else if (!this.dirty) {
          this.needsReload = true;
          if (!catchingUp) this.reload();
        } else {
          this.setSync('behind');                          // our save will merge
        }
        if (e.sessionId !== this.sessionId) this.toast(`${who} saved v${e.version}`);
        break;
      case 'conflict':
        if (e.sessionId !== this.sessionId) this.toast(`${who} hit a conflict`);
        break;
      case 'lock_acquired': case 'lock_released': case 'lock_expired': case 'lock_forced':
        if (e.sessionId !== this.sessionId) {
          this.toast(`${who}${{ lock_acquired: " locked the file", lock_released: " unlocked the file",
                                 lock_expired: "'s lock expired", lock_forced: "'s lock was removed" }[e.event]}`);
        }
        this.refreshPresence();
        break;
      default:                                             // file_opened, draft_saved, ...
        this.refreshPresence();
    }
  }

  onInput() {
    this.setSync();
    clearTimeout(this.autosave);
    this.autosave = setTimeout(() => {
      if (this.dirty && !this.conflictId) {
        this.hasDraft = true;
        this.call('POST', `/api/v1/files/${this.fileId}/draft`,
            { sessionId: this.sessionId, baseVersion: this.version, content: this.el.text.value });
      }
    }, AUTOSAVE_MS);
  }

  // POST .../edit from the base version: 200 written or merged, 409 conflict
  // (the text with markers comes back), 423 locked by another session. What is
  // typed while the save is on its way is kept: the saved version becomes the
  // base and the textarea stays as it is, unsaved.
  async save() {
    clearTimeout(this.autosave);
    this.setSync('saving');
    this.saving = true;
    const sent = this.el.text.value;
    const r = await this.call('POST', `/api/v1/files/${this.fileId}/edit`,
                              { sessionId: this.sessionId, baseVersion: this.version, content: sent,
                                discardDraft: this.hasDraft })
      .finally(() => { this.saving = false; });
    this.lastSave = { status: r.status, body: r.body };
    const typed = this.el.text.value !== sent;           // typed since the save was sent
    if (r.status === 200) {
      this.hasDraft = false;
      const version = r.body.version ?? this.version;
      if (typed) {
        this.version = version;                          // the base from now on; the textarea is kept
        this.headVersion = Math.max(version, this.headVersion || 0);
        this.baseText = r.body.content;
        this.setSync();
        this.onInput();                                  // autosaved as a draft of the new base
      } else {
        this.apply(version, r.body.content);
      }
      this.message(`${r.body.status}${r.body.version ? ` v${r.body.version}` : ''}`);
      // Another session saved during ours (its event only marked us behind):
      // our version is not the head, so read the head (it has both saves).
      if (this.headVersion > this.version) await this.reload();
    } else if (r.status === 409 && r.body.conflictId) {
      this.conflictId = r.body.conflictId;
      this.headVersion = r.body.headVersion;
      if (!typed) this.el.text.value = r.body.content;   // else the markers would replace the typing
      this.el.conflict.hidden = false;
      this.setSync('conflict');
      this.message(`409 conflict with v${r.body.headVersion}: ${r.body.hunks.length} hunk(s)`
                   + (typed ? ' (your newer typing is kept: resolve, or save it as the edited text)' : ''), true);
    } else {
      this.setSync(r.status === 423 ? 'refused' : undefined);
      this.message(refusal(r), true);
    }
    return r;
  }

  async resolve(how) {
    const r = await this.call('POST', `/api/v1/files/${this.fileId}/conflicts/resolve`,
                        { sessionId: this.sessionId, conflictId: this.conflictId, ...how });
    if (r.ok) {
      this.conflictId = null;
      this.el.conflict.hidden = true;
      this.apply(r.body.version, r.body.content);
      this.message(`resolved (${how.choose || 'edited'}): v${r.body.version}`);
    } else {
      this.message(`${r.status} ${r.body.error}`, true);
    }
    return r;
  }

  async lock() {
    const r = await this.call('POST', `/api/v1/files/${this.fileId}/lock`, { sessionId: this.sessionId, ttlSeconds: 120 });
    this.message(r.ok ? `locked until ${new Date(r.body.expiresAt).toLocaleTimeString()}` : refusal(r), !r.ok);
    this.refreshPresence();
    return r;
  }

  async unlock() {
    const r = await this.call('DELETE', `/api/v1/files/${this.fileId}/lock`, { sessionId: this.sessionId });
    this.message(r.ok && r.body.released ? 'unlocked' : 'no lock to release');
    this.refreshPresence();
    return r;
  }

  // Who else is here, their drafts, and the locks. Debounced: events come in
  // bursts, and every tab of the project gets each of them; one request at most
  // every 300 ms per tab.
  refreshPresence() {
    clearTimeout(this.presenceTimer);
    this.presenceTimer = setTimeout(async () => {
      const r = await this.call('GET', `/api/v1/files/${this.fileId}/presence?sessionId=${this.sessionId}`)
        .catch(() => ({ ok: false }));                    // offline: the next event refreshes it
      if (!r.ok) return;
      const others = r.body.editors.filter((e) => e.sessionId !== this.sessionId);
      const draft = (d) => (!d ? '' : d.baseVersion ? `, unsaved draft of v${d.baseVersion}, ${d.bytes} bytes` : ', unsaved draft');
      this.el.presence.textContent = others.length
        ? `Also here: ${others.map((e) => `${e.name} (${e.status}${draft(e.draft)})`).join('; ')}`
        : 'Nobody else is here';
      const lk = r.body.locks.find((l) => l.lockType === 'exclusive');
      this.el.lock.textContent = lk
        ? `Locked by ${lk.sessionId === this.sessionId ? 'you' : lk.name} until ${new Date(lk.expiresAt).toLocaleTimeString()}`
        : '';
    }, 300);
  }

  async showHistory() {
    this.el.history.hidden = false;
    const r = await this.call('GET', `/api/v1/files/${this.fileId}/history?sessionId=${this.sessionId}`);
    this.el.versions.innerHTML = '';
    for (const v of r.body.versions) {
      const li = document.createElement('li');
      li.textContent = `v${v.version} by ${v.name || 'someone'} at ${new Date(v.createdAt).toLocaleTimeString()} (${v.bytes} bytes)`;
      li.onclick = () => this.showDiff(v.version);
      this.el.versions.appendChild(li);
    }
    if (r.body.versions.length > 1) await this.showDiff(r.body.versions[0].version);
  }

  async showDiff(version) {
    if (version < 2) { this.el.diff.textContent = '(the first version)'; return; }
    const r = await this.call('GET', `/api/v1/files/${this.fileId}/diff?sessionId=${this.sessionId}&from=${version - 1}&to=${version}`);
    this.el.diff.textContent = `v${version - 1} → v${version}\n${r.body.diff}`;
  }

  setSync(state) {
    if (!state) {
      if (this.ws && this.ws.readyState !== 1) state = 'offline';
      else if (this.conflictId) state = 'conflict';
      else if (this.dirty) state = this.headVersion > this.version ? 'behind' : 'unsaved';
      else state = 'synced';
    }
    const labels = { synced: 'saved, up to date', unsaved: 'unsaved changes', saving: 'saving…',
      behind: `unsaved; v${this.headVersion} is newer (save merges)`, offline: 'offline, reconnecting…',
      conflict: 'conflict', refused: 'save refused' };
    this.el.sync.className = `sync ${state}`;
    this.el.sync.textContent = labels[state];
    this.el.version.textContent = this.version === null ? '' : `v${this.version}`;
  }

  message(text, error = false) {
    this.el.message.textContent = text;
    this.el.message.className = `message${error ? ' error' : ''}`;
  }

  toast(text) {
    const t = document.createElement('div');
    t.className = 'toast';
    t.textContent = text;
    this.el.toasts.appendChild(t);
    setTimeout(() => t.remove(), 4000);
  }
}

(async () => {
  const params = new URLSearchParams(location.search);
  const cfg = (await api('GET', '/api/v1/config')).body;
  const projectId = params.get('project') || cfg.projectId;
  const fileId = params.get('file') || cfg.fileId;
  const users = (params.get('users') || 'alice,bob').split(',');
  window.editors = {};
  const tpl = document.getElementById('editor-template');
  for (const name of users) {
    const root = tpl.content.firstElementChild.cloneNode(true);
    root.id = `editor-${name}`;
    document.getElementById('editors').appendChild(root);
    window.editors[name] = new Editor(root, name, projectId, fileId);
  }
  await Promise.all(Object.values(window.editors).map((e) => e.start()));
  document.body.dataset.ready = 'true';
})().catch((e) => { document.body.dataset.ready = 'error'; document.body.append(`error: ${e.message}`); });
