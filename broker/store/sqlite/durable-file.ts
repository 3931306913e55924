// Durable file steps for backups and restores: a file is written under a temporary name,
// fsynced, renamed into place, and its directory fsynced, so a crash leaves either the old
// state or the whole new file, never half of one.
import { closeSync, fsyncSync, openSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';

export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Renames a complete, fsynced file into place and makes the rename itself durable. */
export function renameDurably(from: string, to: string): void {
  fsyncPath(from);
  renameSync(from, to);
  fsyncPath(dirname(to));
}
