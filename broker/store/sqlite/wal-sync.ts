// The broker's commit fsync, off the event loop. The broker's connection runs WAL with
// synchronous=NORMAL: a COMMIT appends its frames to the `-wal` file and returns without an
// fsync ("In WAL mode when synchronous is NORMAL ... no sync operations occur during most
// transactions", sqlite.org/pragma.html#pragma_synchronous). The store then makes the commit
// durable with an fdatasync of the WAL file on libuv's thread pool before it answers anyone
// [docs/DESIGN.md rule 5]: on Linux an fsync flushes the inode's dirty pages whichever fd wrote
// them, so one fd opened here once covers SQLite's writes.
//
// The fd stays valid for the broker's life: a checkpoint that resets the WAL rewrites the same
// file from its start (and `journal_size_limit` or a TRUNCATE checkpoint shrink it with
// ftruncate), never deleting it; SQLite deletes the WAL only when the last connection closes,
// and the broker's own connection is open until `close()`.
import { closeSync, fdatasync, fstatSync, openSync, statSync } from 'node:fs';

/** Makes every commit returned so far durable; rejects when the disk reports an error. */
export type SyncWal = () => Promise<void>;

export interface WalSync {
  readonly syncWal: SyncWal;
  close(): void;
}

export function openWalSync(databasePath: string): WalSync {
  const walPath = `${databasePath}-wal`;
  // The broker's connection has read the file in WAL mode already, so the WAL exists.
  const fd = openSync(walPath, 'r+');
  const inode = fstatSync(fd).ino;
  let closed = false;
  return {
    syncWal: () => new Promise<void>((resolve, reject) => {
      if (closed) {
        reject(new Error('the WAL sync is closed'));
        return;
      }
      fdatasync(fd, (error) => (error === null ? resolve() : reject(error)));
    }),
    close() {
      if (closed) return;
      closed = true;
      // The file must still be the one the fd names: were it replaced, syncs would have gone to
      // a deleted inode and nothing since then would be durable.
      const current = statSync(walPath, { throwIfNoEntry: false });
      closeSync(fd);
      if (current !== undefined && current.ino !== inode) throw new Error(`assertion failed: ${walPath} was replaced while the broker ran`);
    },
  };
}
