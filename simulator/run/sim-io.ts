// What a run is given to talk to the outside world: its clock and randomness, where progress
// goes, and the hooks a command uses to learn that the fleet is up or to end the run early.
// Kept apart from run.ts so the parts of a run (devices, the run phase) can take it without
// importing the runner that calls them.
import type { RandomBytes } from '../../shared/ids.js';
import type { SimClock } from '../world/sim-clock.js';

export interface ReadyInfo {
  readonly dataDir: string;
  readonly mqttPort: number;
  readonly httpPort: number | null;
  readonly operatorToken: string;
  readonly devices: number;
}

export interface SimIo {
  readonly clock: SimClock;
  readonly random: RandomBytes;
  /** Progress output (stderr). */
  readonly progress: (text: string) => void;
  readonly isTty: boolean;
  /** Called once the fleet is up and the run starts. */
  readonly onReady?: (info: ReadyInfo) => void;
  /** Ends the run early (Ctrl-C in the demo). */
  readonly stop?: AbortSignal;
  /** One line per phase (stderr). */
  readonly note?: (line: string) => void;
}
