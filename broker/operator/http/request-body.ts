// Reads a JSON request body, bounded: a declared or streamed size above the limit is 413 before
// more than `limit` bytes are held; only application/json is accepted.
import type { IncomingMessage } from 'node:http';
import { HttpProblem } from './problem.js';

/** Returns the parsed JSON, or undefined for an empty body. */
export async function readJsonBody(request: IncomingMessage, limitBytes: number): Promise<unknown> {
  const declared = Number(request.headers['content-length'] ?? '0');
  if (declared > limitBytes) throw tooLarge(limitBytes);
  const bytes = await collect(request, limitBytes);
  if (bytes.length === 0) return undefined;
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpProblem('MEDIA_TYPE_UNSUPPORTED', 'request body must be application/json');
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new HttpProblem('MESSAGE_INVALID', 'request body is not valid JSON');
  }
}

/**
 * Gathers the body; past the limit it rejects and drops the rest without holding it (the 413
 * answer closes the connection, which ends the upload).
 */
function collect(request: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    request.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size <= limitBytes) return void chunks.push(chunk);
      failed = true;
      chunks.length = 0;
      reject(tooLarge(limitBytes));
    });
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

function tooLarge(limitBytes: number): HttpProblem {
  return new HttpProblem('MESSAGE_TOO_LARGE', `request body exceeds ${limitBytes} bytes`, { connection: 'close' });
}
