#!/usr/bin/env node
// Opens WebSockets to the gateway for test/t/070_editor_browser.pl and prints, as
// one line of JSON, what each got: the messages, the close code and reason, or
// the error (a refused upgrade: "Unexpected server response: 403").
// Usage: node ws_probe.js '[{"url": "ws://...", "token": "...", "origin": "http://...", "host": "name:port",
//                             "dropAtOpen": true, "send": [...]}, ...]' HOLD_MS
// A socket with a token offers the subprotocols the editor's tabs offer:
// ce.v1 and ce.token.<token>; "protocol" in the output is the one the gateway chose.
// A socket with dropAtOpen is cut (TCP) as soon as it is open, before the
// gateway's setup has answered; the others are kept HOLD_MS milliseconds. `send`
// lists frames to send once open: a string (a text frame), {"repeat": N, "text"}
// (N text frames), {"size": N} (one text frame of N bytes) or {"badUtf8": true}
// (a text frame that is not UTF-8). A spec with "raw": true is no WebSocket
// client: it sends the upgrade request (with no token) over a plain TCP
// connection and then neither reads nor answers anything, as a flood of sockets
// that never answer their close frame would; its output is { raw: true }. A
// spec with "delayMs" is opened that many milliseconds after the others.
'use strict';
const net = require('net');
const WebSocket = require('ws');

const specs = JSON.parse(process.argv[2]);
const holdMs = Number(process.argv[3] || 1000);
const out = specs.map(() => ({ messages: [], close: null, reason: null, error: null, protocol: null }));
const sockets = specs.map((s, i) => {
  if (s.raw) {
    const u = new URL(s.url);
    const c = net.connect(Number(u.port), u.hostname, () => {
      c.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
        + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ce.v1\r\n\r\n');
      c.pause();  // reads nothing, so it never answers the close frame
    });
    c.on('error', () => {});
    out[i] = { raw: true };
    return { terminate: () => c.destroy() };
  }
  if (s.delayMs) {  // opened that many milliseconds after the others
    const later = { w: null, terminate() { if (this.w) this.w.terminate(); } };
    setTimeout(() => { later.w = open(s, i); }, s.delayMs);
    return later;
  }
  return open(s, i);
});
function open(s, i) {
  const opts = s.origin ? { origin: s.origin } : {};
  if (s.host) opts.headers = { host: s.host };
  const w = s.token === undefined ? new WebSocket(s.url, opts) : new WebSocket(s.url, ['ce.v1', `ce.token.${s.token}`], opts);
  w.on('open', () => {
    out[i].protocol = w.protocol;
    if (s.dropAtOpen) w.terminate();
    for (const f of s.send || []) {
      if (typeof f === 'string') w.send(f);
      else if (f.repeat) for (let n = 0; n < f.repeat; n++) w.send(f.text);
      else if (f.size) w.send('x'.repeat(f.size));
      else if (f.badUtf8) w.send(Buffer.from([0x22, 0xff, 0xfe, 0x22]), { binary: false });
    }
  });
  w.on('message', (m) => { try { out[i].messages.push(JSON.parse(String(m))); } catch { out[i].messages.push(String(m)); } });
  w.on('close', (code, reason) => { out[i].close = code; out[i].reason = String(reason); });
  w.on('error', (e) => { out[i].error = e.message; });
  return w;
}
setTimeout(() => {
  for (const w of sockets) w.terminate();
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}, holdMs);
