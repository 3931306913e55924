// Counters the service keeps for the operator surface, the simulator's report and benchmarks.
import type { ErrorCode } from '../../shared/errors.js';

export class ServiceStats {
  vouchersAccepted = 0;
  readonly vouchersRejected = new Map<ErrorCode, number>();
  aclViolations = 0;
  authFailures = 0;
  settlements = 0;

  accepted(): void {
    this.vouchersAccepted += 1;
  }

  rejected(code: ErrorCode): void {
    this.vouchersRejected.set(code, (this.vouchersRejected.get(code) ?? 0) + 1);
  }

  rejectedTotal(): number {
    let total = 0;
    for (const count of this.vouchersRejected.values()) total += count;
    return total;
  }
}
