/** `fedledger sites status` as a user runs it (the build, a child process), on the demo federation loaded now. */
import test from 'ava';
import { DEMO_LAPSING_SITE } from '../../src/demo/federation.ts';
import { loadDemo } from '../../src/demo/load.ts';
import { openEventLog } from '../../src/eventlog/open.ts';
import { fedledgerIn } from '../support/cli.ts';
import { tempDir } from '../support/tmp.ts';

test('fedledger sites status on the demo: a table with a site in each of the four states, JSON, one site', async (t) => {
  const tmp = tempDir('fedledger-sites-');
  t.teardown(tmp.cleanup);
  const log = await openEventLog({ dataDir: tmp.dir });
  await loadDemo(log, new Date());
  await log.close();

  const table = fedledgerIn(tmp.dir, ['sites', 'status']);
  t.is(table.code, 0, table.stderr);
  const lines = table.stdout.split('\n');
  t.regex(lines[0]!, /^SITE\s+STATE\s+SINCE\s+ACCOUNTING\s+MONITORING\s+INFORMATION$/);
  for (const state of ['not started', 'partial', 'integrated', 'lapsed'])
    t.true(
      lines.some((l) => new RegExp(`^\\S+\\s+${state}\\s`).test(l)),
      `a site ${state}:\n${table.stdout}`,
    );
  t.true(
    lines.includes('    information: GLUE 2.1 document lists no templates (flavours)'),
    'a failing check says why, under its site',
  );

  const json = fedledgerIn(tmp.dir, ['sites', 'status', '--site', DEMO_LAPSING_SITE, '--format', 'json']);
  t.is(json.code, 0, json.stderr);
  const [lapsed] = JSON.parse(json.stdout) as Array<{
    site: string;
    state: string;
    checks: Array<{ name: string; reasons: string[] }>;
  }>;
  t.deepEqual(
    [lapsed!.site, lapsed!.state, lapsed!.checks.find((c) => c.name === 'information')!.reasons],
    [DEMO_LAPSING_SITE, 'lapsed', ['GLUE 2.1 document lists no images']],
  );

  const zero = fedledgerIn(tmp.dir, ['sites', 'status', '--silent-after-days', '0']);
  t.is(zero.code, 1);
  t.regex(zero.stderr, /--silent-after-days must be a whole number of days, got 0 \[INVALID_OPTION\]/);

  const unknown = fedledgerIn(tmp.dir, ['sites', 'status', '--site', 'NO-SUCH-SITE']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /\[UNKNOWN_SITE\]/);
});
