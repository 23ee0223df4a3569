// Reelay's webhooks verified by the Standard Webhooks reference library (`standardwebhooks` on npm), as a receiver would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import OpenAI from 'openai';
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
      received.push({ url: req.url, headers: req.headers, body });
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
  while (!received.some((r) => r.url === '/hooks/reelay' && r.body.includes('"job.succeeded"'))) {
    assert.ok(Date.now() < deadline, `no job.succeeded webhook; got ${received.length} deliveries`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const wh = new Webhook(secret);
  const mine = received.filter((r) => r.url === '/hooks/reelay');
  const events = mine.map((r) => wh.verify(r.body, r.headers));
  assert.deepEqual(events.slice(0, 2).map((e) => e.type), ['job.queued', 'job.running']);
  assert.equal(events.at(-1).type, 'job.succeeded');
  for (const e of events.slice(2, -1)) assert.equal(e.type, 'job.progress');
  for (const e of events) assert.equal(e.data.id, id);
  assert.equal(new Set(mine.map((r) => r.headers['webhook-id'])).size, mine.length);

  // A tampered body or another secret fails verification: the check is real.
  assert.throws(() => wh.verify(mine[0].body.replace('job.queued', 'job.failed'), mine[0].headers));
  assert.throws(() => new Webhook('whsec_' + Buffer.alloc(32, 7).toString('base64')).verify(mine[0].body, mine[0].headers));

  const log = await (await api(`/v1/videos/${id}/webhooks`)).json();
  assert.deepEqual(log.data.map((d) => d.id), mine.map((r) => r.headers['webhook-id']));
});

test('a video submitted with the official openai client gets video.completed, which its webhooks.unwrap verifies and types', async () => {
  const { secret } = await (await api('/v1/webhooks/secret')).json();
  const openai = new OpenAI({ apiKey: server.apiKey, baseURL: `${server.baseUrl}/v1`, maxRetries: 0, webhookSecret: secret });
  const hookUrl = `http://127.0.0.1:${receiver.address().port}/hooks/openai`;
  const created = await openai.videos.create({
    model: 'sandbox', prompt: 'A kite over the dunes', seconds: '1', size: '160x90',
    webhook_url: hookUrl, webhook_events: ['video.completed', 'video.failed'],
  });

  const deadline = Date.now() + 120_000;
  let hook;
  while (!(hook = received.find((r) => r.url === '/hooks/openai'))) {
    assert.ok(Date.now() < deadline, 'no OpenAI-style webhook arrived');
    await new Promise((r) => setTimeout(r, 100));
  }

  const event = await openai.webhooks.unwrap(hook.body, hook.headers);
  assert.equal(event.type, 'video.completed');
  assert.equal(event.object, 'event');
  assert.match(event.id, /^evt_[0-9a-f]{32}$/);
  assert.equal(typeof event.created_at, 'number');
  assert.deepEqual(event.data, { id: created.id });
  assert.equal((await openai.videos.retrieve(event.data.id)).status, 'completed');

  // The SDK's check is real: a tampered body or another secret is refused.
  await assert.rejects(openai.webhooks.unwrap(hook.body.replace('video.completed', 'video.failed'), hook.headers));
  await assert.rejects(openai.webhooks.unwrap(hook.body, hook.headers, 'whsec_' + Buffer.alloc(32, 7).toString('base64')));

  await new Promise((r) => setTimeout(r, 300));
  assert.equal(received.filter((r) => r.url === '/hooks/openai').length, 1, 'only the asked-for event type is sent');
});
