// Follows a log file another process appends to (the cluster's auth service writes pino JSON
// lines to DIR/logs/auth.log) and hands each complete line on: the simulator reads the auth
// service's refusals and ACL violations as it reads the embedded broker's stderr.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

/** How often the file is looked at for new lines. */
export const LOG_TAIL_POLL_MS = 50;
const READ_BYTES = 64 * 1024;

export class LogTail {
  private offset: number;
  private partial = '';
  private readonly timer: NodeJS.Timeout;

  /** Starts at the end of the file: only lines written from now on are handed on. */
  constructor(private readonly file: string, private readonly onLine: (line: string) => void) {
    this.offset = existsSync(file) ? statSync(file).size : 0;
    this.timer = setInterval(() => this.poll(), LOG_TAIL_POLL_MS);
  }

  private poll(): void {
    if (!existsSync(this.file)) return;
    const fd = openSync(this.file, 'r');
    try {
      const buffer = Buffer.alloc(READ_BYTES);
      for (let read = readSync(fd, buffer, 0, READ_BYTES, this.offset); read > 0; read = readSync(fd, buffer, 0, READ_BYTES, this.offset)) {
        this.offset += read;
        const lines = (this.partial + buffer.subarray(0, read).toString('utf8')).split('\n');
        this.partial = lines.pop() ?? '';
        for (const line of lines) this.onLine(line);
      }
    } finally {
      closeSync(fd);
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.poll();
  }
}
