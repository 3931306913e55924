// A TCP port free on loopback right now: the kernel picks it (listen on 0), we release it and hand
// it to a server that cannot listen on 0 itself (RabbitMQ, PostgreSQL, a child process). Another
// process may take it in between; the server then fails to start and says so.
import { createServer } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}
