// `mqpay agent status`: what this device has signed, received and still has pending, read from
// its local state without the broker (and while `agent run` is running).
import { requirePath, type Command } from '../../cli/command.js';
import { loadAgentHome } from '../home/home.js';
import { readAgentStatus, type AgentStatus } from '../status.js';
import { openState } from '../store/open-state.js';
import { toHex } from '../../shared/hex.js';
import { homeOption } from './options.js';

const short = (channel: string): string => `${channel.slice(0, 12)}…`;

function currencyLine(configured: string | undefined, status: AgentStatus): string {
  if (configured !== undefined) return `currency: ${configured} (configured)${status.currency !== null && status.currency !== configured ? `; the ledger's is ${status.currency}, refused` : ''}`;
  return `currency: ${status.currency ?? 'not known yet (learnt from the first channel certificate)'}`;
}

function textOf(device: string, publicKey: string, status: AgentStatus, configured: string | undefined): string[] {
  const lines = [`agent ${device} (public key ${publicKey})`, currencyLine(configured, status), `paying through ${status.paying.length} channel(s):`];
  for (const c of status.paying) {
    lines.push(`  ${short(c.channel)} to ${c.payee}  ${c.state}  deposit ${c.deposit}  signed #${c.signedSeq} ${c.signedTotal}  accepted #${c.acceptedSeq} ${c.acceptedTotal}  receipt #${c.receiptSeq}  settled ${c.settled}`);
  }
  lines.push(`paid through ${status.paid.length} channel(s):`);
  for (const c of status.paid) {
    lines.push(`  ${short(c.channel)} from ${c.payer}  ${c.state}${c.certified ? '' : ' (no certificate)'}  deposit ${c.deposit ?? '?'}  received #${c.receivedSeq} ${c.receivedTotal}  settled ${c.settled}`);
  }
  lines.push(`pending vouchers: ${status.pendingVouchers}`);
  for (const v of status.pending) lines.push(`  ${short(v.channel)} to ${v.payee}  #${v.seq}  +${v.amount}  total ${v.total}`);
  lines.push(`pending receipts: ${status.pendingReceipts}`);
  return lines;
}

export const statusCommand: Command = {
  name: ['agent', 'status'],
  summary: 'show channels, totals and pending vouchers from the local state (no broker needed)',
  positionals: [],
  options: { ...homeOption, json: { type: 'boolean', description: 'print JSON' } },
  async run(input) {
    const home = loadAgentHome(requirePath(input, 'home'));
    const db = openState(home.statePath, { readonly: true });
    try {
      const status = readAgentStatus(db);
      const publicKey = toHex(home.keys.publicKey);
      if (input.values.json === true) input.stdout(JSON.stringify({ device: home.config.device, publicKey, ...status }));
      else for (const line of textOf(home.config.device, publicKey, status, home.config.currency)) input.stdout(line);
      return 0;
    } finally {
      db.close();
    }
  },
};
