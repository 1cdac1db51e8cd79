import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nock from '../support/nock.ts';
import { tempDir } from '../support/tmp.ts';
import { parseCollectorConfig, type OpenNebulaSource } from '../../src/collectors/config.ts';
import { runCollection } from '../../src/collectors/run.ts';
import {
  apelStatusFromOne,
  oneStateChanges,
  runningSeconds,
  type OneHistory,
  type OneVm,
} from '../../src/collectors/opennebula/records.ts';
import { methodCall, parseMethodResponse } from '../../src/collectors/opennebula/xmlrpc.ts';
import { Secret } from '../../src/collectors/secrets.ts';
import { openEventLog } from '../../src/eventlog/open.ts';
import type { RecordedEvent } from '../../src/eventlog/port.ts';
import type { CloudUsageRecord, EventData } from '../../src/events/catalogue.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) =>
  readFileSync(path.resolve(here, '../../fixtures/collectors/opennebula', name), 'utf8');
const ONE = 'http://one.example.org:2633';
const env = { ONE_PASSWORD_TEST: 'opennebula-pw' };

function source(): OpenNebulaSource {
  return parseCollectorConfig(
    {
      sources: [
        {
          name: 'example-one',
          kind: 'opennebula',
          site: 'EXAMPLE-ONE',
          rpcUrl: `${ONE}/RPC2`,
          username: 'oneadmin',
          password: { env: 'ONE_PASSWORD_TEST' },
          retries: 0,
        },
      ],
    },
    'test',
  ).sources[0] as OpenNebulaSource;
}

/** oned answers `method` (with these exact int arguments) with `file`. */
function rpc(method: string, ints: number[], file: string) {
  return nock(ONE)
    .post('/RPC2', (body: string) => {
      const args = [...body.matchAll(/<int>(-?\d+)<\/int>/g)].map((m) => Number(m[1]));
      return (
        body.includes(`<methodName>${method}</methodName>`) &&
        body.includes('<string>oneadmin:opennebula-pw</string>') &&
        JSON.stringify(args) === JSON.stringify(ints)
      );
    })
    .reply(200, fixture(file), { 'Content-Type': 'text/xml' });
}

async function all(log: Awaited<ReturnType<typeof openEventLog>>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of log.readAll()) out.push(e);
  return out;
}

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());

test.serial(
  'OpenNebula: running time from history, a reused id kept apart, an undeployed VM kept, network the right way round',
  async (t) => {
    const { dir, cleanup } = tempDir();
    t.teardown(cleanup);
    const log = await openEventLog({ dataDir: dir });
    t.teardown(() => log.close());
    for (const run of [1, 2]) {
      // The second run resumes from the cursor: accounting from the newest history time seen.
      rpc('one.vmpool.accounting', [-2, run === 1 ? -1 : 1773296020, -1], 'vmpool-accounting.xml');
      rpc('one.vmpool.info', [-2, -1, -1, -1], 'vmpool-info.xml');
      // Asked once per VM 40 life: the answer is the newer one, so the older life is rebuilt from accounting.
      rpc('one.vm.info', [40], 'vm-info-40.xml');
      rpc('one.vm.info', [40], 'vm-info-40.xml');
      rpc('one.vm.info', [41], 'vm-info-41.xml');
    }
    const now = () => new Date('2026-03-12T10:20:00Z');
    const asOf = 1773309600;
    const first = await runCollection(log, source(), { now, env });
    t.deepEqual(first.failures, []);
    const events = await all(log);
    const records = new Map(
      events
        .filter((e) => e.type === 'CloudUsageRecorded')
        .map((e) => {
          const r = (e.data as EventData<'CloudUsageRecorded'>).record;
          return [r.vmUuid, r] as [string, CloudUsageRecord];
        }),
    );
    t.deepEqual([...records.keys()].sort(), [
      'one.example.org:2633/one-40/1773100000',
      'one.example.org:2633/one-40/1773290000',
      'one.example.org:2633/one-41/1773280000',
    ]);

    const oldLife = records.get('one.example.org:2633/one-40/1773100000')!;
    t.like(oldLife, {
      status: 'completed',
      startTime: 1773100000,
      endTime: 1773107255,
      wallDuration: 7200,
      cpuDuration: 14_400,
      cpuCount: 2,
      networkInbound: 3,
      networkOutbound: 1,
      machineName: 'one-40',
    });
    t.like(oldLife, {
      memory: 4096,
      disk: 20,
      vo: 'vo.access.egi.eu',
      globalUserName: '/DC=org/DC=example/CN=Jane Researcher',
    });
    t.is(oldLife.imageId, 'https://appdb.egi.eu/store/vo/image/9d3b1c7e-5f2a-5e4b-8c6d-0a1b2c3d4e5f:31337/');

    t.like(
      records.get('one.example.org:2633/one-40/1773290000')!,
      { status: 'suspended', endTime: null, wallDuration: 1773296000 - 1773290030 },
      'UNDEPLOYED keeps its usage',
    );

    const running = records.get('one.example.org:2633/one-41/1773280000')!;
    t.like(running, {
      status: 'started',
      endTime: null,
      wallDuration: 1773285000 - 1773280020 + (asOf - 1773285000),
      networkInbound: 3,
      networkOutbound: 7,
    });

    const states = events.filter((e) => e.type === 'VmStateChanged').map((e) => e.data as EventData<'VmStateChanged'>);
    t.deepEqual(
      states.filter((s) => s.vmUuid === running.vmUuid).map((s) => s.state),
      ['started'],
      'a live migration is not a state change',
    );
    const probe = events.find((e) => e.type === 'ProbeResultRecorded')!.data as EventData<'ProbeResultRecorded'>;
    t.like(probe, { hostname: 'one.example.org', status: 'OK' });

    const second = await runCollection(log, source(), { now, env });
    t.is(second.written, 0, 'the same data collected again appends nothing');
    t.deepEqual(nock.pendingMocks(), []);
  },
);

test.serial('OpenNebula refusing the session is a CRITICAL probe result and no records', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const log = await openEventLog({ dataDir: dir });
  t.teardown(() => log.close());
  rpc('one.vmpool.accounting', [-2, -1, -1], 'auth-failure.xml');
  const summary = await runCollection(log, source(), { now: () => new Date('2026-03-12T10:20:00Z'), env });
  t.is(summary.records, 0);
  t.deepEqual(
    summary.failures.map((f) => f.code),
    ['ONE_AUTHENTICATION'],
  );
  t.is(summary.reachability.status, 'CRITICAL');
  t.false(summary.reachability.detail.includes('opennebula-pw'));
});

test('the XML-RPC call is what oned expects, and a failure reply is a typed error', (t) => {
  const xml = methodCall('one.vm.info', [new Secret('oneadmin:p<w'), 7]);
  t.regex(
    xml,
    /<methodName>one\.vm\.info<\/methodName><params><param><value><string>oneadmin:p&lt;w<\/string><\/value><\/param><param><value><int>7<\/int>/,
  );
  t.throws(() => parseMethodResponse(fixture('auth-failure.xml'), 'one.vmpool.accounting'), {
    message: /couldn't be authenticated.*code 256/,
  });
});

const vm = (over: Partial<OneVm>): OneVm => ({
  id: 1,
  name: 'v',
  uname: 'u',
  gname: 'g',
  state: 3,
  lcmState: 3,
  stime: 1000,
  etime: 0,
  vcpus: 1,
  memoryMb: 512,
  disks: [],
  x509Dn: null,
  netRx: null,
  netTx: null,
  history: [],
  ...over,
});
const h = (seq: number, rstime: number, retime: number, action = 0): OneHistory => ({
  seq,
  hostname: 'h',
  stime: rstime,
  etime: retime,
  rstime,
  retime,
  action,
  vm: null,
});

test('running seconds: an open record runs to "now", a record that never ran counts nothing, a DONE VM stops at its end', (t) => {
  t.is(runningSeconds(vm({}), [h(0, 0, 0), h(1, 1100, 1200), h(2, 1300, 0)], 2000), 100 + 700);
  t.is(
    runningSeconds(vm({ state: 6, etime: 1500 }), [h(0, 1100, 0)], 2000),
    400,
    'an open record of a DONE VM closes at the VM end',
  );
});

test('VM states map to APEL statuses; UNDEPLOYED and CLONING_FAILURE are not running rather than dropped', (t) => {
  t.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map(apelStatusFromOne), [
    'started',
    'started',
    'suspended',
    'started',
    'suspended',
    'suspended',
    'completed',
    'completed',
    'suspended',
    'suspended',
    'started',
    'suspended',
    'unknown',
  ]);
});

test('state changes from history: stop then resume on another host', (t) => {
  const changes = oneStateChanges(vm({ state: 3 }), [h(0, 1100, 1200, 9), h(1, 1500, 0)]);
  t.deepEqual(
    changes.map((c) => [c.state, c.at]),
    [
      ['started', 1100],
      ['suspended', 1200],
      ['started', 1500],
    ],
  );
});
