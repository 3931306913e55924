// The command line explains itself: --version, group help (`mqpay device`), and option help whose
// descriptions never run into a long flag. In-process `main`, as the bin runs it.
import { PROTOCOL_VERSION } from '../shared/schemas.js';
import { describe, expect, it } from 'vitest';
import packageJson from '../package.json' with { type: 'json' };
import { commands } from '../cli/main.js';
import { runCli } from './helpers/ops-cli.js';

describe('mqpay help and version', () => {
  it('--version prints the package version and the protocol version', async () => {
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag]);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toBe(`mqpay ${packageJson.version} (protocol ${PROTOCOL_VERSION}, node ${process.versions.node})\n`);
    }
  });

  it('a group name lists its commands: on stdout with exit 0 when asked, on stderr with exit 2 otherwise', async () => {
    const groups = [...new Set(commands.filter((command) => command.name.length > 1).map((command) => command.name[0] as string))];
    expect(groups).toEqual(expect.arrayContaining(['device', 'wallet', 'ledger', 'agent']));
    for (const group of groups) {
      const asked = await runCli([group, '--help']);
      expect(asked.code).toBe(0);
      expect(asked.stdout).toContain(`usage: mqpay ${group} <command> [options]`);
      for (const command of commands.filter((c) => c.name[0] === group && c.name.length > 1)) expect(asked.stdout).toContain(`  ${command.name.join(' ')}`);
      const bare = await runCli([group]);
      expect(bare.code).toBe(2);
      expect(bare.stderr).toContain(`usage: mqpay ${group} <command> [options]`);
    }
    expect((await runCli(['nosuch'])).stderr).toContain('unknown command: nosuch');
  });

  it('every option description starts after its flag, in one column per command', async () => {
    for (const command of commands) {
      const help = (await runCli([...command.name, '--help'])).stdout;
      const rows = help.split('\n').filter((line) => line.startsWith('  --'));
      expect(rows.length).toBeGreaterThan(0);
      // A flag (with its value name), at least two spaces, then the description: all rows align.
      const columns = rows.map((row) => {
        const match = /^ {2}(--[a-z0-9-]+(?: [A-Z0-9_]+)?)( {2,})\S/.exec(row);
        expect(match, row).not.toBeNull();
        return 2 + (match?.[1]?.length ?? 0) + (match?.[2]?.length ?? 0);
      });
      expect(new Set(columns).size).toBe(1);
    }
  });
});
