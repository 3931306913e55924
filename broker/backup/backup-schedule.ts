// Scheduled backups by the broker (--backup-dir, --backup-every, --backup-keep): one at start,
// then one every interval, each through SQLite's backup API in steps of BACKUP_PAGES_PER_STEP
// pages (one event-loop turn each, so the broker keeps serving), checked and renamed into
// place; the oldest beyond `keep` are deleted. Timers are the settlement scheduler's kind
// (unref'd, stopped on close) and times come from the injected clock. When the latest backup
// is older than BACKUP_OVERDUE_INTERVALS intervals, an alarm: a log line, a `backup.overdue`
// ops event (once per episode) and the metrics read `overdue`.
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { OpsEvent } from '../../shared/ops-events.js';
import { PROTOCOL_VERSION } from '../../shared/schemas.js';
import type { Clock } from '../service/ports.js';
import type { Telemetry } from '../service/telemetry.js';
import { writeBackup, type BackupWritten } from '../store/sqlite/backup-file.js';
import type { Db } from '../store/sqlite/open-database.js';
import { BACKUP_OVERDUE_INTERVALS, BACKUP_PAGES_PER_STEP, BACKUP_WATCH_MS_MIN } from '../limits.js';

/** Holds the WAL checkpoints off while a backup copies pages (wal-checkpointer.ts). */
export interface CheckpointPause {
  pauseWhile<T>(work: () => Promise<T>): Promise<T>;
}

export interface BackupScheduleOptions {
  readonly dir: string;
  readonly everyMs: number;
  readonly keep: number;
}

const FILE_PATTERN = /^mqpay-\d{8}T\d{9}Z\.db$/;

/** mqpay-20261204T214010123Z.db: sorts by time as text. */
export function backupFileName(nowMs: number): string {
  return `mqpay-${new Date(nowMs).toISOString().replace(/[-:.]/g, '')}.db`;
}

export class BackupSchedule {
  private timer: NodeJS.Timeout | null = null;
  /** Checks the age between attempts too, so a backup that hangs still raises the alarm. */
  private watch: NodeJS.Timeout | null = null;
  private stopped = false;
  private running: Promise<BackupWritten | null> | null = null;
  private lastSuccess: number | null;
  private overdueReported = false;
  private readonly startedMs: number;
  successes = 0;
  failures = 0;
  lastFailureMs: number | null = null;

  constructor(
    private readonly db: Db,
    private readonly serviceSecretKey: Uint8Array,
    private readonly deps: { readonly clock: Clock; readonly telemetry: Telemetry; readonly logger: Logger; readonly checkpoints?: CheckpointPause },
    readonly options: BackupScheduleOptions,
  ) {
    this.startedMs = deps.clock.nowMs();
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    this.lastSuccess = newestBackupMs(options.dir);
  }

  /** When the latest backup in the directory was written (ms), or null when there is none. */
  get lastSuccessMs(): number | null {
    return this.lastSuccess;
  }

  /** Seconds since the latest backup (since the broker started, when there is none). */
  ageSeconds(): number {
    return Math.max(0, (this.deps.clock.nowMs() - (this.lastSuccess ?? this.startedMs)) / 1000);
  }

  get boundSeconds(): number {
    return Math.ceil((this.options.everyMs * BACKUP_OVERDUE_INTERVALS) / 1000);
  }

  get overdue(): boolean {
    return this.ageSeconds() > this.boundSeconds;
  }

  start(): void {
    this.schedule(0);
    this.watch = setInterval(() => this.checkOverdue(), Math.max(BACKUP_WATCH_MS_MIN, this.options.everyMs / BACKUP_OVERDUE_INTERVALS));
    this.watch.unref();
  }

  stop(): Promise<unknown> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.watch !== null) clearInterval(this.watch);
    return this.running ?? Promise.resolve();
  }

  /** One backup now (a scheduled one, or an operator's); never two at once. Null when it failed. */
  backupNow(): Promise<BackupWritten | null> {
    this.running ??= this.attempt().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.backupNow().then(() => this.schedule(this.options.everyMs));
    }, delayMs);
    this.timer.unref();
  }

  private async attempt(): Promise<BackupWritten | null> {
    const nowMs = this.deps.clock.nowMs();
    const file = join(this.options.dir, backupFileName(nowMs));
    try {
      const backup = () => writeBackup(this.db, file, { nowMs, pagesPerStep: BACKUP_PAGES_PER_STEP, serviceSecretKey: this.serviceSecretKey });
      // Another connection's commit (the checkpoint worker's WAL restart) would start it over.
      const written = await (this.deps.checkpoints?.pauseWhile(backup) ?? backup());
      this.lastSuccess = this.deps.clock.nowMs();
      this.successes += 1;
      this.overdueReported = false;
      const deleted = pruneBackups(this.options.dir, this.options.keep);
      this.deps.logger.info({ file, bytes: written.bytes, deleted }, 'backup written and checked');
      return written;
    } catch (error) {
      this.failures += 1;
      this.lastFailureMs = this.deps.clock.nowMs();
      const message = (error as Error)?.message ?? String(error);
      this.deps.logger.error({ err: message, file }, 'backup failed; the previous one stays the latest');
      this.emit({ v: PROTOCOL_VERSION, type: 'backup.failed', error: message.slice(0, 512), atMs: this.deps.clock.nowMs() });
      return null;
    } finally {
      this.checkOverdue();
    }
  }

  /** The alarm, once per episode (it clears with the next good backup). */
  checkOverdue(): boolean {
    if (!this.overdue) return false;
    if (!this.overdueReported) {
      this.overdueReported = true;
      const ageSeconds = Math.floor(this.ageSeconds());
      this.deps.logger.error({ age_seconds: ageSeconds, bound_seconds: this.boundSeconds, dir: this.options.dir }, 'ALARM: the latest backup is overdue');
      this.emit({ v: PROTOCOL_VERSION, type: 'backup.overdue', lastBackupAtMs: this.lastSuccess, ageSeconds, boundSeconds: this.boundSeconds, atMs: this.deps.clock.nowMs() });
    }
    return true;
  }

  private emit(event: OpsEvent): void {
    this.deps.telemetry.emit({ kind: 'ops.event', event });
  }
}

function backupFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => FILE_PATTERN.test(name)).sort();
  } catch {
    return [];
  }
}

function newestBackupMs(dir: string): number | null {
  const newest = backupFiles(dir).at(-1);
  return newest === undefined ? null : statSync(join(dir, newest)).mtimeMs;
}

/** Deletes the oldest scheduled backups beyond `keep`; returns how many. */
export function pruneBackups(dir: string, keep: number): number {
  const files = backupFiles(dir);
  const old = files.slice(0, Math.max(0, files.length - keep));
  for (const name of old) unlinkSync(join(dir, name));
  return old.length;
}
