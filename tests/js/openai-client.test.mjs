// The official `openai` npm client, unchanged, against Reelay's OpenAI-compatible dialect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { startReelay } from './reelay-server.mjs';

let server;
let client;

before(async () => {
  server = await startReelay();
  client = new OpenAI({ apiKey: server.apiKey, baseURL: `${server.baseUrl}/v1`, maxRetries: 0 });
});

after(async () => {
  await server?.stop();
});

async function waitForTerminal(id) {
  const seen = [];
  const deadline = Date.now() + 120_000;
  for (;;) {
    const video = await client.videos.retrieve(id);
    seen.push(video);
    if (video.status === 'completed' || video.status === 'failed') return { video, seen };
    assert.ok(Date.now() < deadline, `video ${id} did not finish in time; last status ${video.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('create → retrieve until completed → downloadContent → list → delete', async () => {
  const created = await client.videos.create({ model: 'sandbox', prompt: 'A paper boat on a calm lake', seconds: '2', size: '320x240' });
  assert.equal(created.object, 'video');
  assert.match(created.id, /^video_[0-9a-f]{32}$/);
  assert.equal(created.model, 'sandbox');
  assert.equal(created.seconds, '2');
  assert.equal(created.size, '320x240');
  assert.ok(['queued', 'in_progress'].includes(created.status));
  assert.equal(typeof created.created_at, 'number');

  const { video, seen } = await waitForTerminal(created.id);
  assert.equal(video.status, 'completed', JSON.stringify(video.error));
  assert.equal(video.progress, 100);
  assert.equal(typeof video.completed_at, 'number');
  assert.equal(video.error, null);
  const progress = seen.map((v) => v.progress);
  assert.deepEqual(progress, [...progress].sort((a, b) => a - b), 'progress never goes backwards');
  for (const v of seen) assert.ok(['queued', 'in_progress', 'completed'].includes(v.status), v.status);

  const content = await client.videos.downloadContent(created.id);
  const bytes = Buffer.from(await content.arrayBuffer());
  assert.equal(content.headers.get('content-type'), 'video/mp4');
  assert.equal(bytes.subarray(4, 8).toString('latin1'), 'ftyp', 'an MP4 file');

  const thumbnail = Buffer.from(await (await client.videos.downloadContent(created.id, { variant: 'thumbnail' })).arrayBuffer());
  assert.equal(thumbnail.subarray(0, 4).toString('latin1'), 'RIFF', 'a WebP thumbnail');
  assert.equal(thumbnail.subarray(8, 12).toString('latin1'), 'WEBP', 'a WebP thumbnail');

  const page = await client.videos.list({ limit: 10, order: 'desc' });
  assert.ok(page.data.some((v) => v.id === created.id), 'the list contains the video');
  assert.equal(page.data[0].object, 'video');

  const deleted = await client.videos.delete(created.id);
  assert.deepEqual(deleted, { id: created.id, object: 'video.deleted', deleted: true });
  await assert.rejects(client.videos.retrieve(created.id), (err) => err instanceof OpenAI.NotFoundError && err.status === 404);
});

test('image-to-video with an uploaded input_reference file', async () => {
  const png = join(server.dataDir, 'frame.png');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', png]);
  const created = await client.videos.create({
    model: 'sandbox',
    prompt: 'slow push in',
    seconds: '1',
    size: '320x240',
    input_reference: await toFile(readFileSync(png), 'frame.png', { type: 'image/png' }),
  });
  const { video } = await waitForTerminal(created.id);
  assert.equal(video.status, 'completed', JSON.stringify(video.error));
  const bytes = Buffer.from(await (await client.videos.downloadContent(created.id)).arrayBuffer());
  assert.equal(bytes.subarray(4, 8).toString('latin1'), 'ftyp');
});

test('list pages with after, limit and order', async () => {
  const ids = [];
  for (let i = 0; i < 3; i++) {
    ids.push((await client.videos.create({ model: 'sandbox', prompt: `page ${i}`, seconds: '1', size: '160x120' })).id);
  }
  const first = await client.videos.list({ limit: 2, order: 'asc' });
  assert.equal(first.data.length, 2);
  assert.equal(first.has_more, true);
  const all = [];
  for await (const v of client.videos.list({ limit: 2, order: 'asc' })) all.push(v.id);
  const positions = ids.map((id) => all.indexOf(id));
  assert.ok(positions.every((p) => p >= 0), 'auto-pagination reaches every video');
  assert.deepEqual(positions, [...positions].sort((a, b) => a - b), 'ascending order');
});

test('bad requests come back as OpenAI errors naming the field', async () => {
  await assert.rejects(
    client.videos.create({ model: 'no-such-model', prompt: 'x' }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === 'model' && /no-such-model/.test(err.message),
  );
  await assert.rejects(
    client.videos.create({ model: 'sandbox', prompt: 'x', seconds: '99' }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === 'seconds' && /1 to 20/.test(err.message),
  );
  await assert.rejects(
    client.videos.create({ model: 'sandbox', prompt: 'x', input_reference: await toFile(Buffer.from('not an image'), 'x.png', { type: 'image/png' }) }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === 'input_reference',
  );
  await assert.rejects(client.videos.retrieve('video_does_not_exist'), (err) => err instanceof OpenAI.NotFoundError);
  // A PNG whose header is valid but whose pixel data is not: refused at submit, not left to stall a render.
  const corrupt = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAUAAAAC0CAIAAABqhmJGAAAACElEQVRub3QgemxpYlVpEfcAAAAASUVORK5CYII=', 'base64');
  await assert.rejects(
    client.videos.create({ model: 'sandbox', prompt: 'x', seconds: '1', size: '320x180', input_reference: await toFile(corrupt, 'x.png', { type: 'image/png' }) }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === 'input_reference' && err.code === 'image_invalid' && /does not decode/.test(err.message),
  );
  const wrongKey = new OpenAI({ apiKey: 'wrong-key', baseURL: `${server.baseUrl}/v1`, maxRetries: 0 });
  await assert.rejects(wrongKey.videos.list(), (err) => err instanceof OpenAI.AuthenticationError && err.status === 401);
});

test('remix, edit, extend, createCharacter and getCharacter through the official client', async () => {
  const source = await client.videos.create({ model: 'sandbox', prompt: 'A lighthouse at dusk', seconds: '1', size: '160x120' });
  assert.equal((await waitForTerminal(source.id)).video.status, 'completed');

  const remix = await client.videos.remix(source.id, { prompt: 'The lighthouse at night' });
  assert.equal(remix.remixed_from_video_id, source.id);
  assert.equal(remix.seconds, '1');
  assert.equal(remix.size, '160x120');

  const edit = await client.videos.edit({ prompt: 'Paint it red', video: { id: source.id } });
  assert.equal(edit.remixed_from_video_id, null);
  assert.equal(edit.size, '160x120');

  const extension = await client.videos.extend({ prompt: 'A ship passes', seconds: '1', video: { id: source.id } });
  assert.equal(extension.seconds, '2', 'an extension reports the stitched total');

  for (const derived of [remix, edit, extension]) {
    const { video } = await waitForTerminal(derived.id);
    assert.equal(video.status, 'completed', JSON.stringify(video.error));
  }

  const png = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=orange:s=32x32', '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', '-']);
  const character = await client.videos.createCharacter({ name: 'Keeper', video: await toFile(png, 'keeper.png', { type: 'image/png' }) });
  assert.match(character.id, /^char_[0-9a-f]{32}$/);
  assert.equal(character.name, 'Keeper');
  assert.equal(typeof character.created_at, 'number');
  const fetched = await client.videos.getCharacter(character.id);
  assert.deepEqual(fetched, character);

  await assert.rejects(client.videos.remix('video_0123456789abcdef0123456789abcdef', { prompt: 'x' }),
    (err) => err instanceof OpenAI.NotFoundError && err.code === 'not_found' && err.param === 'video_id');
  await assert.rejects(client.videos.getCharacter('char_0123456789abcdef0123456789abcdef'),
    (err) => err instanceof OpenAI.NotFoundError && err.code === 'not_found');
  await assert.rejects(client.videos.extend({ prompt: 'x', video: { id: source.id } }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === 'seconds');
});
