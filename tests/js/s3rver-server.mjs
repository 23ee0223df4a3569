// Starts s3rver (an S3-protocol test server) for the .NET storage tests:
//   node s3rver-server.mjs <directory>
// Listens on 127.0.0.1 on a free port, prints one JSON line {"url": "http://127.0.0.1:PORT"} once it listens, and
// stops when its standard input closes (so it never outlives the test process that started it).
// Credentials: access key id S3RVER, secret S3RVER (s3rver's fixed pair; signatures are checked).
import S3rver from 's3rver';

const directory = process.argv[2];
if (!directory) {
  console.error('usage: node s3rver-server.mjs <directory>');
  process.exit(2);
}

const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
const { address, port } = await server.run();
process.stdout.write(JSON.stringify({ url: `http://${address}:${port}` }) + '\n');

const stop = async () => {
  try {
    await server.close();
  } finally {
    process.exit(0);
  }
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.on('SIGTERM', stop);
process.stdin.resume();
