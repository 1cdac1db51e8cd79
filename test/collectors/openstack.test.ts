import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nock from '../support/nock.ts';
import { tempDir } from '../support/tmp.ts';
import { parseCollectorConfig, type OpenStackSource } from '../../src/collectors/config.ts';
import { runCollection } from '../../src/collectors/run.ts';
import { COLLECTOR_METRIC, COLLECTOR_SERVICE } from '../../src/availability/service-types.ts';
import {
  apelStatusFromNova,
  novaUsageRecord,
  serverSchema,
  stateChanges,
  instanceActionSchema,
} from '../../src/collectors/openstack/records.ts';
import { openEventLog } from '../../src/eventlog/open.ts';
import type { EventLog, RecordedEvent } from '../../src/eventlog/port.ts';
import type { CloudUsageRecord, EventData } from '../../src/events/catalogue.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../fixtures/collectors/openstack');
const fixture = (name: string) => readFileSync(path.join(fixtures, name), 'utf8');

const KEYSTONE = 'https://keystone.cloud.example.org:5000';
const NOVA = 'https://nova.cloud.example.org:8774';
const ACCESS = '7d1e4b2c9a8f4e3d8c6b5a4f3e2d1c0b';
const OPS = 'e8a1f0c2b3d44e5f9a6b7c8d9e0f1a2b';
const epoch = (iso: string) => Date.parse(iso) / 1000;

function source(): OpenStackSource {
  const config = parseCollectorConfig(
    {
      sources: [
        {
          name: 'example-openstack',
          kind: 'openstack',
          site: 'EXAMPLE-CLOUD',
          cron: '10 * * * *',
          keystoneUrl: `${KEYSTONE}/v3`,
          auth: { method: 'password', username: 'accounting', password: { env: 'OS_PASSWORD_TEST' } },
          projects: [OPS],
          projectTag: 'caso',
          pageSize: 2,
          retries: 1,
          backoffMs: 0,
          cloudComputeService: 'EXAMPLE Nova',
        },
      ],
    },
    'test',
  );
  return config.sources[0] as OpenStackSource;
}

/** Keystone issues `token` for `project` once. */
function issueToken(project: string, name: string, token: string) {
  const body = fixture('token.json').replaceAll('PROJECT_ID', project).replaceAll('PROJECT_NAME', name);
  return nock(KEYSTONE)
    .post(
      '/v3/auth/tokens',
      (b: {
        auth: { scope?: { project?: { id?: string } }; identity: { password: { user: { password: string } } } };
      }) => b.auth.scope?.project?.id === project && b.auth.identity.password.user.password === 's3cret',
    )
    .reply(201, body, { 'X-Subject-Token': token, 'Content-Type': 'application/json' });
}

const nova = (token: string) => nock(NOVA).matchHeader('x-auth-token', token);

/** Everything project ops and the first two pages of vo.access.egi.eu need, with the token expiring between pages. */
function firstRunApis() {
  issueToken(OPS, 'ops', 'tok-ops');
  nock(KEYSTONE)
    .matchHeader('x-auth-token', 'tok-ops')
    .get('/v3/projects')
    .query({ tags: 'caso' })
    .reply(200, fixture('projects-tagged.json'));
  nock(KEYSTONE)
    .matchHeader('x-auth-token', 'tok-ops')
    .get(`/v3/projects/${OPS}`)
    .reply(200, fixture('project-ops.json'));
  issueToken(ACCESS, 'vo.access.egi.eu', 'tok-a1');
  nova('tok-a1')
    .get(`/v2.1/${ACCESS}/flavors/detail`)
    .query({ is_public: 'None' })
    .reply(200, fixture('flavors-detail.json'));
  nova('tok-a1')
    .get(`/v2.1/${ACCESS}/flavors/m2.small/os-extra_specs`)
    .reply(200, fixture('extra-specs-m2.small.json'));
  nova('tok-a1')
    .get(`/v2.1/${ACCESS}/flavors/m2.large/os-extra_specs`)
    .reply(200, fixture('extra-specs-m2.large.json'));
  nock('https://glance.cloud.example.org:9292')
    .matchHeader('x-auth-token', 'tok-a1')
    .get('/v2/images')
    .query({ limit: 2 })
    .reply(200, fixture('images.json'));
  nova('tok-a1').get(`/v2.1/${ACCESS}/servers/detail`).query({ limit: 2 }).reply(200, fixture('servers-page1.json'));
  // The token is revoked/expired between the two pages: 401, then a fresh token is used.
  nova('tok-a1')
    .get(`/v2.1/${ACCESS}/servers/detail`)
    .query({ limit: 2, marker: '6e2d8b4f-1a3c-4d5e-8f7a-9b0c1d2e3f4a' })
    .reply(401, {
      error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
    });
  issueToken(ACCESS, 'vo.access.egi.eu', 'tok-a2');
  nova('tok-a2')
    .get(`/v2.1/${ACCESS}/servers/detail`)
    .query({ limit: 2, marker: '6e2d8b4f-1a3c-4d5e-8f7a-9b0c1d2e3f4a' })
    .reply(200, fixture('servers-page2.json'));
  nock('https://neutron.cloud.example.org:9696')
    .matchHeader('x-auth-token', 'tok-a2')
    .get('/v2.0/floatingips')
    .query({ project_id: ACCESS })
    .reply(200, fixture('floatingips.json'));
  for (const [id, name] of [
    ['0f3a9c2e-7b1d-4e8f-a6c5-3d2b1e0f9a87', 'jupyter-worker'],
    ['6e2d8b4f-1a3c-4d5e-8f7a-9b0c1d2e3f4a', 'bfv-db-01'],
    ['a4c6e8f0-2b4d-4f6a-8c0e-1f3a5c7e9b2d', 'idle-test'],
  ]) {
    nova('tok-a2')
      .matchHeader('x-openstack-nova-api-version', '2.21')
      .get(`/v2.1/${ACCESS}/servers/${id}/os-instance-actions`)
      .reply(200, fixture(`actions-${name}.json`));
  }
}

/** ops' Nova is broken for the whole test. */
function opsNovaDown() {
  nock(NOVA)
    .get(`/v2.1/${OPS}/servers/detail`)
    .query(true)
    .times(100)
    .reply(500, { computeFault: { code: 500, message: 'Unexpected API Error.' } });
}

async function allEvents(log: EventLog, after = -1n): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of log.readAll(after >= 0n ? { fromPosition: after + 1n } : {})) out.push(e);
  return out;
}

const usage = (events: RecordedEvent[]) =>
  new Map(
    events
      .filter((e) => e.type === 'CloudUsageRecorded')
      .map((e) => {
        const r = (e.data as EventData<'CloudUsageRecorded'>).record;
        return [r.machineName, r] as [string | null, CloudUsageRecord];
      }),
  );

const countByType = (events: RecordedEvent[]) =>
  events.reduce<Record<string, number>>((m, e) => ({ ...m, [e.type]: (m[e.type] ?? 0) + 1 }), {});

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());

test.serial(
  'a run collects every project it can, pages, re-authenticates on 401, and reports the API as a probe',
  async (t) => {
    const { dir, cleanup } = tempDir();
    t.teardown(cleanup);
    const log = await openEventLog({ dataDir: dir });
    t.teardown(() => log.close());
    firstRunApis();
    opsNovaDown();
    const now = new Date('2026-03-12T10:20:00Z');
    const summary = await runCollection(log, source(), {
      now: () => now,
      env: { OS_PASSWORD_TEST: 's3cret' },
      sleep: async () => {},
    });

    t.deepEqual(
      summary.failures.map((f) => [f.scope, f.code]),
      [[OPS, 'HTTP_500']],
    );
    t.is(summary.records, 3);
    const events = await allEvents(log);
    const records = usage(events);
    const asOf = epoch('2026-03-12T10:00:00Z');

    const worker = records.get('jupyter-worker')!;
    t.is(worker.wallDuration, asOf - epoch('2026-03-10T08:00:00Z'));
    t.is(worker.cpuDuration, 4 * worker.wallDuration!, 'CPU = wall x vCPUs of the current (resized) flavor');
    t.like(worker, {
      status: 'started',
      endTime: null,
      cpuCount: 4,
      memory: 8192,
      disk: 50,
      benchmarkType: 'HEPSPEC06',
      benchmark: 12.35,
      publicIpCount: 1,
      vo: 'vo.access.egi.eu',
      fqan: 'vo.access.egi.eu',
      siteName: 'EXAMPLE-CLOUD',
      cloudComputeService: 'EXAMPLE Nova',
    });
    t.is(worker.imageId, 'https://appdb.egi.eu/store/vo/image/4a7c3e1f-2b9d-5e6f-8a0c-1d2e3f4a5b6c:20112/');

    const bfv = records.get('bfv-db-01')!;
    t.like(
      bfv,
      { imageId: null, cpuCount: 1, wallDuration: 36_000, cpuDuration: 36_000, publicIpCount: 0 },
      "another project's floating IP is not counted",
    );
    t.like(
      records.get('idle-test')!,
      { status: 'completed', endTime: null },
      'SHUTOFF maps to completed, as cASO does',
    );

    const states = events.filter((e) => e.type === 'VmStateChanged').map((e) => e.data as EventData<'VmStateChanged'>);
    t.deepEqual(
      states.filter((s) => s.vmUuid === worker.vmUuid).map((s) => [s.state, s.previousState, s.source.split(':')[2]]),
      [
        ['started', null, 'create'],
        ['started', 'started', 'resize'],
      ],
    );
    t.deepEqual(
      states.filter((s) => s.vmUuid === records.get('idle-test')!.vmUuid).map((s) => s.state),
      ['started', 'completed'],
    );

    const probe = events.find((e) => e.type === 'ProbeResultRecorded')!.data as EventData<'ProbeResultRecorded'>;
    t.like(probe, {
      hostname: 'keystone.cloud.example.org',
      service: COLLECTOR_SERVICE,
      metric: COLLECTOR_METRIC,
      status: 'WARNING',
      timestamp: '2026-03-12T10:20:00Z',
    });
    t.regex(probe.summary, /1\/2 projects collected/);

    const cursors = events
      .filter((e) => e.type === 'CollectorCursorAdvanced')
      .map((e) => e.data as EventData<'CollectorCursorAdvanced'>);
    t.deepEqual(
      cursors.map((c) => [c.scope, c.cursor]),
      [[ACCESS, '2026-03-12T00:00:40Z']],
      'the failed project keeps no cursor',
    );
    t.deepEqual(
      nock.pendingMocks().filter((m) => !m.includes(OPS)),
      [],
      'every planned call was made',
    );
    t.false(JSON.stringify(events.map((e) => e.data)).includes('s3cret'), 'the password is never stored');
  },
);

test.serial('the next run resumes from the cursor, picks up a deleted server, and a repeat adds nothing', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const log = await openEventLog({ dataDir: dir });
  t.teardown(() => log.close());
  const env = { OS_PASSWORD_TEST: 's3cret' };
  firstRunApis();
  opsNovaDown();
  await runCollection(log, source(), { now: () => new Date('2026-03-12T10:20:00Z'), env, sleep: async () => {} });
  const head = await log.headPosition();

  const later = new Date('2026-03-12T10:40:00Z');
  for (const run of [1, 2]) {
    issueToken(OPS, 'ops', `tok-ops-${run}`);
    nock(KEYSTONE).get('/v3/projects').query({ tags: 'caso' }).reply(200, fixture('projects-tagged.json'));
    nock(KEYSTONE).get(`/v3/projects/${OPS}`).reply(200, fixture('project-ops.json'));
    issueToken(ACCESS, 'vo.access.egi.eu', `tok-${run}`);
    nova(`tok-${run}`).get(`/v2.1/${ACCESS}/flavors/detail`).query(true).reply(200, fixture('flavors-detail.json'));
    nova(`tok-${run}`)
      .get(`/v2.1/${ACCESS}/flavors/m2.small/os-extra_specs`)
      .reply(200, fixture('extra-specs-m2.small.json'));
    nova(`tok-${run}`)
      .get(`/v2.1/${ACCESS}/flavors/m2.large/os-extra_specs`)
      .reply(200, fixture('extra-specs-m2.large.json'));
    nock('https://glance.cloud.example.org:9292').get('/v2/images').query(true).reply(200, fixture('images.json'));
    nova(`tok-${run}`)
      .get(`/v2.1/${ACCESS}/servers/detail`)
      .query({ limit: 2 })
      .reply(200, fixture('servers-page1.json'));
    nova(`tok-${run}`)
      .get(`/v2.1/${ACCESS}/servers/detail`)
      .query({ limit: 2, marker: '6e2d8b4f-1a3c-4d5e-8f7a-9b0c1d2e3f4a' })
      .reply(200, fixture('servers-page2.json'));
    const cursor = run === 1 ? '2026-03-12T00:00:40Z' : '2026-03-12T09:30:00Z';
    nova(`tok-${run}`)
      .get(`/v2.1/${ACCESS}/servers/detail`)
      .query({ limit: 2, 'changes-since': cursor })
      .reply(200, fixture('servers-changes-since.json'));
    nock('https://neutron.cloud.example.org:9696')
      .get('/v2.0/floatingips')
      .query(true)
      .reply(200, fixture('floatingips.json'));
    const changedSince =
      run === 1
        ? [
            ['6e2d8b4f-1a3c-4d5e-8f7a-9b0c1d2e3f4a', 'bfv-db-01'],
            ['d9e8f7a6-b5c4-4d3e-9f2a-1b0c9d8e7f6a', 'stuck-in-deleting'],
          ]
        : [['d9e8f7a6-b5c4-4d3e-9f2a-1b0c9d8e7f6a', 'stuck-in-deleting']];
    for (const [id, name] of changedSince)
      nova(`tok-${run}`)
        .get(`/v2.1/${ACCESS}/servers/${id}/os-instance-actions`)
        .reply(200, fixture(`actions-${name}.json`));
  }

  const second = await runCollection(log, source(), { now: () => later, env, sleep: async () => {} });
  const added = await allEvents(log, head);
  const deleted = usage(added).get('stuck-in-deleting')!;
  t.like(
    deleted,
    { status: 'completed', endTime: epoch('2026-03-12T09:30:00Z'), wallDuration: 3.5 * 3600 },
    'terminated_at null: closed at updated',
  );
  t.deepEqual(countByType(added), {
    CloudUsageRecorded: 1,
    VmStateChanged: 2,
    ProbeResultRecorded: 1,
    CollectorSnapshotTaken: 1,
    CollectorCursorAdvanced: 1,
  });
  t.is(second.written, added.length);

  const head2 = await log.headPosition();
  const third = await runCollection(log, source(), { now: () => later, env, sleep: async () => {} });
  t.is(third.written, 0, 'collecting the same data again appends nothing');
  t.is(await log.headPosition(), head2);
  t.is(nock.pendingMocks().filter((m) => !m.includes(OPS)).length, 0);
});

test('Nova statuses map to APEL statuses as DOMAIN §1 says', (t) => {
  const cases: Array<[string, string]> = [
    ['ACTIVE', 'started'],
    ['BUILD', 'started'],
    ['VERIFY_RESIZE', 'started'],
    ['HARD_REBOOT', 'started'],
    ['DELETED', 'completed'],
    ['SHUTOFF', 'completed'],
    ['TERMINATED', 'completed'],
    ['PAUSED', 'paused'],
    ['SUSPENDED', 'suspended'],
    ['STOPPED', 'stopped'],
    ['ERROR', 'error'],
    ['SHELVED_OFFLOADED', 'unknown'],
    ['SOFT_DELETED', 'unknown'],
  ];
  for (const [nova, apel] of cases) t.is(apelStatusFromNova(nova), apel, nova);
});

test('a server whose flavor is unknown has no CPU figures, and a server created after "now" has zero wall time', (t) => {
  const server = serverSchema.parse({
    id: 'x',
    name: 'x',
    status: 'BUILD',
    tenant_id: 'p',
    user_id: 'u',
    created: '2026-03-12T10:30:00Z',
    updated: '2026-03-12T10:30:00Z',
    flavor: { id: 'gone' },
    image: '',
    addresses: {},
  });
  const r = novaUsageRecord(server, {
    siteName: 'S',
    cloudType: 'c',
    cloudComputeService: null,
    vo: null,
    flavor: null,
    image: null,
    floatingIps: null,
    asOf: epoch('2026-03-12T10:00:00Z'),
  });
  t.like(r, { wallDuration: 0, cpuDuration: null, cpuCount: null, status: 'started', imageId: null });
});

test('state changes come out in time order whatever order Nova lists them in', (t) => {
  const actions = instanceActionSchema.array().parse([
    { action: 'start', request_id: 'r3', start_time: '2026-01-03T00:00:00' },
    { action: 'create', request_id: 'r1', start_time: '2026-01-01T00:00:00' },
    { action: 'suspend', request_id: 'r2', start_time: '2026-01-02T00:00:00' },
    { action: 'attach_interface', request_id: 'r4', start_time: '2026-01-04T00:00:00' },
  ]);
  t.deepEqual(
    stateChanges('vm', actions).map((c) => [c.requestId, c.state, c.previousState]),
    [
      ['r1', 'started', null],
      ['r2', 'suspended', 'started'],
      ['r3', 'started', 'suspended'],
    ],
  );
});
