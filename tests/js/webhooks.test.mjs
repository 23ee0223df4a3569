// Reelay's webhooks verified by the Standard Webhooks reference library (`standardwebhooks` on npm), as a receiver would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { startReelay } from './reelay-server.mjs';

let server;
let receiver;
const received = [];

before(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  server = await startReelay({ env: { Reelay__Limits__AllowPrivateNetworks__0: '127.0.0.1' } });
});

after(async () => {
  await server?.stop();
  await new Promise((r) => receiver?.close(r) ?? r());
});

const api = (path, init = {}) => fetch(`${server.baseUrl}${path}`, {
  ...init,
  headers: { Authorization: `Bearer ${server.apiKey}`, 'Content-Type': 'application/json', ...(init.headers ?? {}) },
});

test('every event of a sandbox job arrives signed, and standardwebhooks verifies each', async () => {
  const { secret } = await (await api('/v1/webhooks/secret')).json();
  assert.match(secret, /^whsec_/);
  const hookUrl = `http://127.0.0.1:${receiver.address().port}/hooks/reelay`;
  const created = await api('/v1/videos', {
    method: 'POST',
    body: JSON.stringify({ model: 'sandbox', prompt: 'A lighthouse at dawn', seconds: '2', size: '640x360', webhook_url: hookUrl }),
  });
  assert.equal(created.status, 200, await created.clone().text());
  const { id } = await created.json();

  const deadline = Date.now() + 120_000;
  while (!received.some((r) => r.body.includes('"job.succeeded"'))) {
    assert.ok(Date.now() < deadline, `no job.succeeded webhook; got ${received.length} deliveries`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const wh = new Webhook(secret);
  const events = received.map((r) => wh.verify(r.body, r.headers));
  assert.deepEqual(events.slice(0, 2).map((e) => e.type), ['job.queued', 'job.running']);
  assert.equal(events.at(-1).type, 'job.succeeded');
  for (const e of events.slice(2, -1)) assert.equal(e.type, 'job.progress');
  for (const e of events) assert.equal(e.data.id, id);
  assert.equal(new Set(received.map((r) => r.headers['webhook-id'])).size, received.length);

  // A tampered body or another secret fails verification: the check is real.
  assert.throws(() => wh.verify(received[0].body.replace('job.queued', 'job.failed'), received[0].headers));
  assert.throws(() => new Webhook('whsec_' + Buffer.alloc(32, 7).toString('base64')).verify(received[0].body, received[0].headers));

  const log = await (await api(`/v1/videos/${id}/webhooks`)).json();
  assert.deepEqual(log.data.map((d) => d.id), received.map((r) => r.headers['webhook-id']));
});
