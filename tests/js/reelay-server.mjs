// Starts a real Reelay gateway (the built CLI's `serve`) on 127.0.0.1 with a port chosen at run time, a private data
// folder and a random admin key; stops it when the test ends.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const defaultCli = resolve(here, '../../src/Reelay.Cli/bin/Release/net10.0/Reelay.Cli.dll');

// `env` adds environment variables, e.g. { Reelay__Limits__AllowPrivateNetworks__0: '127.0.0.1' }.
export async function startReelay({ env = {} } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'reelay-js-'));
  const apiKey = 'rk_test_' + randomBytes(16).toString('hex');
  const cli = process.env.REELAY_CLI_DLL ?? defaultCli;
  const child = spawn('dotnet', [cli, 'serve', '--urls', 'http://127.0.0.1:0'], {
    env: { ...process.env, REELAY_ADMIN_KEY: apiKey, Reelay__DataDirectory: dataDir, Logging__LogLevel__Default: 'Warning', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const baseUrl = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('Reelay did not get ready in 60 s:\n' + output)), 60_000);
    const onData = (chunk) => {
      output += chunk;
      const match = /Reelay is ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`Reelay exited with ${code}:\n${output}`)); });
  });
  return {
    baseUrl,
    apiKey,
    dataDir,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => { if (child.exitCode !== null) r(); else child.on('exit', r); });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
