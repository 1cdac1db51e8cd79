import test from 'ava';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nock from 'nock';
import { openEventLog } from '../../src/eventlog/open.ts';
import type { EventLog, RecordedEvent } from '../../src/eventlog/port.ts';
import {
  gocdbPullJob,
  ingestGocdb,
  ingestProbeResults,
  ingestProfiles,
  pullGocdb,
} from '../../src/ingest/availability-service.ts';
import { parseGocdb } from '../../src/ingest/gocdb.ts';
import { normaliseInstant, parseProbeLine } from '../../src/ingest/probes.ts';
import { parseProfiles } from '../../src/ingest/profiles.ts';
import { tempDir } from '../support/tmp.ts';

// nock 15's fetch interception calls Promise.withResolvers, which Node 20 lacks.
(Promise as unknown as { withResolvers?: unknown }).withResolvers ??= function <T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const reference = path.resolve(repoRoot, '../shared/reference');
const hasReference = existsSync(reference);

async function withLog(run: (log: EventLog) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  const log = await openEventLog({ dataDir: dir });
  try {
    await run(log);
  } finally {
    await log.close();
    cleanup();
  }
}

async function all(log: EventLog, type: string): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of log.readAll({ filter: { eventTypes: [type] } })) out.push(e);
  return out;
}

const line = (o: Record<string, unknown>) =>
  JSON.stringify({
    timestamp: '2026-01-05T10:00:00Z',
    hostname: 'nova.example.org',
    service: 'org.openstack.nova',
    metric: 'org.nagios.Keystone-TCP',
    status: 'OK',
    summary: 's',
    message: 'm',
    monitoring_host: 'mon',
    ...o,
  });

test('a probe line is checked field by field, errors naming line and field', (t) => {
  const bad = parseProbeLine(
    line({ timestamp: '2026-02-30T10:00:00Z', status: 'GREEN', hostname: '' }),
    7,
    'probes.jsonl',
  );
  t.false(bad.ok);
  if (bad.ok) return;
  t.deepEqual(
    bad.errors.map((e) => [e.line, e.field]),
    [
      [7, 'timestamp'],
      [7, 'hostname'],
      [7, 'status'],
    ],
  );
  t.regex(bad.errors[0]!.message, /probes\.jsonl line 7 field timestamp/);
  const exit = parseProbeLine(line({ status: 2, timestamp: '2026-01-05T10:00:00.250Z' }), 1, 'x');
  t.true(exit.ok && exit.result.status === 'CRITICAL' && exit.result.timestamp === '2026-01-05T10:00:00Z');
  t.false(parseProbeLine('{"timestamp":', 3, 'x').ok);
});

test('a probe instant must be a real UTC calendar time; fractions of a second are dropped', (t) => {
  t.is(normaliseInstant('2024-02-29T23:59:59.999Z'), '2024-02-29T23:59:59Z');
  t.is(normaliseInstant('2000-02-29T00:00:00Z'), '2000-02-29T00:00:00Z');
  for (const bad of [
    '2023-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2024-02-30T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2024-01-00T00:00:00Z',
    '2024-00-10T00:00:00Z',
    '2024-13-10T00:00:00Z',
    '2024-01-10T24:00:00Z',
    '2024-01-10T23:60:00Z',
    '2024-01-10T23:59:60Z',
    '2024-01-10T10:00:00+00:00',
    '2024-01-10 10:00:00Z',
  ])
    t.is(normaliseInstant(bad), undefined, bad);
});

test('probe ingest: accepted, duplicates unchanged, invalid lines rejected into quarantine', async (t) => {
  await withLog(async (log) => {
    const body = [
      line({}),
      line({ metric: 'eu.egi.cloud.OpenStack-VM' }),
      '',
      line({ status: 'BROKEN' }),
      line({}),
    ].join('\n');
    const first = await ingestProbeResults(log, body, { publisher: 'token:mon' });
    t.like(first, { accepted: 2, unchanged: 1, rejected: 1 });
    t.is(first.errors[0]!.line, 4);
    t.is(first.errors[0]!.field, 'status');
    const again = await ingestProbeResults(log, line({}), { publisher: 'token:mon' });
    t.like(again, { accepted: 0, unchanged: 1 });
    // Same host, service, metric and time but another status is another fact.
    t.like(await ingestProbeResults(log, line({ status: 'WARNING' }), { publisher: 'token:mon' }), { accepted: 1 });
    const rejected = await all(log, 'InputRejected');
    t.is(rejected.length, 1);
    t.true(rejected[0]!.stream.startsWith('quarantine-'));
    t.is((rejected[0]!.data as { line: number }).line, 4);
    const recorded = await all(log, 'ProbeResultRecorded');
    t.is(recorded[0]!.stream, 'probes-nova.example.org/org.openstack.nova');
  });
});

const downtimeXml = (end: number, description = 'Upgrade') => `<?xml version="1.0"?><results>
  <DOWNTIME ID="1" PRIMARY_KEY="900G0" CLASSIFICATION="SCHEDULED"><PRIMARY_KEY>900G0</PRIMARY_KEY><HOSTNAME>nova.example.org</HOSTNAME>
  <SERVICE_TYPE>org.openstack.nova</SERVICE_TYPE><HOSTED_BY>SITE-A</HOSTED_BY><SEVERITY>OUTAGE</SEVERITY><DESCRIPTION>${description}</DESCRIPTION>
  <INSERT_DATE>1767000000</INSERT_DATE><START_DATE>1767607200</START_DATE><END_DATE>${end}</END_DATE></DOWNTIME>
  <DOWNTIME ID="2" PRIMARY_KEY="901G0" CLASSIFICATION="SOMETIMES"><HOSTNAME>x</HOSTNAME><SERVICE_TYPE>y</SERVICE_TYPE><SEVERITY>OUTAGE</SEVERITY>
  <START_DATE>1767607200</START_DATE><END_DATE>1767610800</END_DATE></DOWNTIME></results>`;

test('a downtime re-sent unchanged is a no-op; a changed one is a new declaration of the same id; bad elements are quarantined', async (t) => {
  await withLog(async (log) => {
    const first = await ingestGocdb(log, downtimeXml(1767614400), { publisher: 'gocdb' });
    t.like(first, { kind: 'downtimes', accepted: 1, unchanged: 0, rejected: 1 });
    t.is(first.errors[0]!.field, 'CLASSIFICATION');
    t.like(await ingestGocdb(log, downtimeXml(1767614400), { publisher: 'gocdb' }), { accepted: 0, unchanged: 1 });
    t.like(await ingestGocdb(log, downtimeXml(1767618000), { publisher: 'gocdb' }), { accepted: 1 });
    const declared = await all(log, 'DowntimeDeclared');
    t.deepEqual(
      declared.map((e) => [e.stream, (e.data as { end: string }).end]),
      [
        ['downtime-900G0', '2026-01-05T12:00:00Z'],
        ['downtime-900G0', '2026-01-05T13:00:00Z'],
      ],
    );
  });
});

test('a profile file: API envelope or bare object, recognised by content; bad fields named', (t) => {
  const bare = parseProfiles(
    JSON.stringify({ name: 'P', date: '2026-01-01', services: [{ service: 's', metrics: ['m'] }] }),
    'm.json',
  );
  t.is(bare[0]!.kind, 'metric');
  t.throws(
    () =>
      parseProfiles(
        JSON.stringify({
          status: { code: '200' },
          data: [{ name: 'A', date: '2026-01-01', metric_operation: 'AND', profile_operation: 'AND', groups: [] }],
        }),
        'a.json',
      ),
    {
      message: /a\.json profile #1 \(aggregation\) field groups/,
    },
  );
});

test('profiles ingest: re-sent unchanged is a no-op', async (t) => {
  await withLog(async (log) => {
    const text = readFileSync(path.join(repoRoot, 'fixtures/availability/profiles/metric-fedcloud.json'), 'utf8');
    t.like(await ingestProfiles(log, text, { publisher: 'cli' }), { accepted: 1 });
    t.like(await ingestProfiles(log, text, { publisher: 'cli' }), { accepted: 0, unchanged: 1 });
  });
});

test('pullGocdb asks for the three documents and ingests them (nock)', async (t) => {
  const fixtures = path.join(repoRoot, 'fixtures/availability/gocdb');
  const scope = nock('https://goc.example.org')
    .get('/gocdbpi/public/')
    .query({ method: 'get_site_list' })
    .reply(200, readFileSync(path.join(fixtures, 'get_site_list.xml'), 'utf8'))
    .get('/gocdbpi/public/')
    .query({ method: 'get_service_endpoint' })
    .reply(200, readFileSync(path.join(fixtures, 'get_service_endpoint.xml'), 'utf8'))
    .get('/gocdbpi/public/')
    .query({ method: 'get_downtime', windowstart: '2026-01-03' })
    .reply(200, readFileSync(path.join(fixtures, 'get_downtime.xml'), 'utf8'));
  await withLog(async (log) => {
    const result = await pullGocdb(log, 'https://goc.example.org/gocdbpi/public/', fetch, {
      now: new Date('2026-01-10T06:00:00Z'),
    });
    t.true(scope.isDone());
    t.is(result.get_site_list.accepted, 3);
    t.is(result.get_service_endpoint.accepted, 5);
    t.is(result.get_downtime.accepted, 3);
  });
  nock.cleanAll();
  nock('https://goc.example.org').get('/gocdbpi/public/').query(true).reply(503, 'down');
  await withLog(async (log) => {
    await t.throwsAsync(
      gocdbPullJob(log, { gocdbUrl: 'https://goc.example.org/gocdbpi/public/' }).run({ scheduledFor: new Date() }),
      {
        message: /HTTP 503/,
      },
    );
  });
  nock.cleanAll();
});

const refTest = hasReference ? test : test.skip;
if (!hasReference) test.skip(`reference files: ${reference} is absent`, () => {});

refTest('every file in ../shared/reference/argo and ../shared/reference/gocdb loads', async (t) => {
  await withLog(async (log) => {
    for (const f of readdirSync(path.join(reference, 'gocdb'))) {
      const s = await ingestGocdb(log, readFileSync(path.join(reference, 'gocdb', f), 'utf8'), {
        publisher: 'ref',
        source: f,
      });
      t.is(s.rejected, 0, f);
      t.true(s.accepted > 0, f);
    }
    const doc = parseGocdb(readFileSync(path.join(reference, 'gocdb/get_downtime.xml'), 'utf8'), 'dt');
    t.deepEqual(doc.downtimes.find((d) => d.downtimeId === '141101G0')!.endpoints.length, 2);
    t.is(doc.downtimes.find((d) => d.downtimeId === '141103G0')!.classification, 'UNSCHEDULED');
    const argo = path.join(reference, 'argo');
    const probes = await ingestProbeResults(log, readFileSync(path.join(argo, 'metric-data.jsonl'), 'utf8'), {
      publisher: 'ref',
    });
    t.like(probes, { accepted: 14, rejected: 0 });
    for (const f of ['operations-egi_ops.json', 'aggregation-profile.json', 'metric-profile.json'])
      t.is(
        (await ingestProfiles(log, readFileSync(path.join(argo, f), 'utf8'), { publisher: 'ref', source: f })).accepted,
        1,
        f,
      );
    // The results and status samples are web-API outputs: they load as JSON of the shape the export mirrors.
    const results = JSON.parse(readFileSync(path.join(argo, 'results-sites-daily.json'), 'utf8')) as {
      results: Array<{ endpoints: Array<{ results: unknown[] }> }>;
    };
    t.is(results.results[0]!.endpoints.length, 2);
    const status = JSON.parse(readFileSync(path.join(argo, 'status-endpoints.json'), 'utf8')) as { groups: unknown[] };
    t.is(status.groups.length, 1);
  });
});
