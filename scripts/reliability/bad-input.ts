/**
 * Property-based fuzzing of fedledger's input boundaries with fast-check: APEL messages and probe lines pushed
 * over HTTP to a real ApiServer on 127.0.0.1, GOCDB documents given to the ingest service, and GraphQL queries.
 * fast-check rather than a hand-rolled random loop: a failure shrinks to a minimal input and is replayed from the
 * printed seed and path. Shared by the test suite (a modest count) and `npm run test:fuzz` (a large one).
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEMO_DIR } from '../../src/demo/load.ts';
import { type RecordedEvent, StreamNotFoundError } from '../../src/eventlog/port.ts';
import { streams } from '../../src/events/catalogue.ts';
import { FedledgerError } from '../../src/errors.ts';
import { sourceMessageIdOf } from '../../src/ingest/apel-service.ts';
import { ingestGocdb } from '../../src/ingest/availability-service.ts';
import { startHarness, type Harness } from '../../test/api/harness.ts';

export interface FuzzOutcome {
  /** Inputs sent, re-sends included. */
  tried: number;
  /** One line per violated invariant: the input's kind, what failed, fast-check's seed and path to replay it. */
  violations: string[];
}

interface PushAnswer {
  status: number;
  body: { accepted?: number; unchanged?: number; rejected?: number; errors?: IngestErrorBody[] };
}
interface IngestErrorBody {
  message: string;
  record: number | null;
  line: number | null;
  field: string | null;
}

const enc = new TextEncoder();

// ---------------------------------------------------------------- APEL records

/** A record the parser must accept. Its VMUUID is made unique per message by the caller. */
const goodFields = fc.record({
  site: fc.constantFrom('SITE-A', 'SITE-B'),
  wall: fc.nat({ max: 10 ** 9 }),
  cores: fc.integer({ min: 1, max: 64 }),
  start: fc.integer({ min: 1_500_000_000, max: 1_900_000_000 }),
  status: fc.constantFrom('started', 'completed', 'suspended'),
  fqan: fc.constantFrom('/alpha/Role=NULL', 'beta', '/ops/Role=NULL/Capability=NULL'),
});
type GoodFields = typeof goodFields extends fc.Arbitrary<infer T> ? T : never;

const goodLines = (uuid: string, f: GoodFields): string[] => [
  `VMUUID: ${uuid}`,
  `SiteName: ${f.site}`,
  `FQAN: ${f.fqan}`,
  `Status: ${f.status}`,
  `StartTime: ${f.start}`,
  `WallDuration: ${f.wall}`,
  `CpuDuration: ${f.wall * f.cores}`,
  `CpuCount: ${f.cores}`,
];

/** One defect that makes a record invalid, and the field its error must name. */
interface Defect {
  field: string;
  apply(lines: string[]): Array<string | Uint8Array>;
}
const NUMERIC_FIELDS = [
  'StartTime',
  'EndTime',
  'SuspendDuration',
  'WallDuration',
  'CpuDuration',
  'CpuCount',
  'NetworkInbound',
  'NetworkOutbound',
  'Memory',
  'Disk',
] as const;
const replaceField = (lines: string[], key: string, value: string) =>
  lines.map((l) => (l.startsWith(`${key}:`) ? `${key}: ${value}` : l));
const defect = fc.oneof(
  fc
    .record({ n: fc.integer({ min: 1, max: 10 ** 12 }) })
    .map(({ n }): Defect => ({ field: 'WallDuration', apply: (l) => replaceField(l, 'WallDuration', `-${n}`) })),
  fc
    .stringMatching(/^[1-9][0-9]{20,60}$/)
    .map((digits): Defect => ({ field: 'CpuDuration', apply: (l) => replaceField(l, 'CpuDuration', digits) })),
  fc
    .record({
      field: fc.constantFrom(...NUMERIC_FIELDS),
      // Invalid for every numeric field: integers, decimals and times alike.
      value: fc.constantFrom('-1', '-0.5', '8.64e4', '86_400', '2048MB', 'nan', 'Infinity', '1e400', '0x10', '.5'),
    })
    .map(({ field, value }): Defect => ({
      field,
      apply: (l) => [...l.filter((x) => !x.startsWith(`${field}:`)), `${field}: ${value}`],
    })),
  fc.constant<Defect>({ field: 'SiteName', apply: (l) => l.filter((x) => !x.startsWith('SiteName:')) }),
  fc.constant<Defect>({ field: 'Status', apply: (l) => [...l, l.find((x) => x.startsWith('Status:'))!] }),
  fc
    .stringMatching(/^[A-Z][A-Za-z]{2,15}$/)
    .map((key): Defect => ({ field: `X${key}`, apply: (l) => [...l, `X${key}: 1`] })),
  fc.uint8Array({ minLength: 1, maxLength: 4 }).map((tail): Defect => ({
    field: 'MachineName',
    // 0xff never occurs in UTF-8: the line is invalid whatever follows it.
    apply: (l) => [...l, Buffer.concat([enc.encode('MachineName: host'), Uint8Array.of(0xff), tail])],
  })),
  fc
    .integer({ min: 256, max: 2000 })
    .map((n): Defect => ({ field: 'VMUUID', apply: (l) => replaceField(l, 'VMUUID', 'v'.repeat(n)) })),
);

const recordSpec = fc.record({ fields: goodFields, defect: fc.option(defect, { freq: 2 }) });
const messageSpec = fc.record({
  records: fc.array(recordSpec, { minLength: 1, maxLength: 12 }),
  crlf: fc.boolean(),
  finalSeparator: fc.boolean(),
  version: fc.constantFrom('v0.2', 'v0.4'),
});
type MessageSpec = typeof messageSpec extends fc.Arbitrary<infer T> ? T : never;

const bytesOf = (parts: ReadonlyArray<string | Uint8Array>): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p)));

/** A message's bytes, and which records (1-based) are good (their VMUUIDs) or bad (the field to be named). */
function buildMessage(spec: MessageSpec, prefix: string) {
  const eol = spec.crlf ? '\r\n' : '\n';
  const parts: Array<string | Uint8Array> = [`APEL-cloud-message: ${spec.version}${eol}`];
  const good: Array<{ index: number; site: string; uuid: string }> = [];
  const bad: Array<{ index: number; field: string }> = [];
  spec.records.forEach((r, i) => {
    const uuid = `${prefix}-${i + 1}`;
    const lines = goodLines(uuid, r.fields);
    const out = r.defect ? r.defect.apply(lines) : lines;
    if (r.defect) bad.push({ index: i + 1, field: r.defect.field });
    else good.push({ index: i + 1, site: r.fields.site, uuid });
    if (i > 0) parts.push(`%%${eol}`);
    for (const line of out) parts.push(line, eol);
  });
  if (spec.finalSeparator) parts.push(`%%${eol}`);
  return { bytes: bytesOf(parts), good, bad };
}

/** Damage to a whole message, after which only the boundary invariants (no 5xx, re-send idempotent) must hold. */
const damage = fc.oneof(
  fc.nat().map((n) => (b: Uint8Array) => b.subarray(0, n % (b.length + 1))),
  fc
    .record({ at: fc.nat(), junk: fc.uint8Array({ minLength: 1, maxLength: 64 }) })
    .map(({ at, junk }) => (b: Uint8Array) => {
      const i = at % (b.length + 1);
      return Buffer.concat([b.subarray(0, i), junk, b.subarray(i)]);
    }),
  fc.constant((b: Uint8Array) => enc.encode(Buffer.from(b).toString('latin1').replaceAll('%%', ''))),
  fc
    .string({ maxLength: 40 })
    .map((header) => (b: Uint8Array) => Buffer.concat([enc.encode(header), b.subarray(b.indexOf(10))])),
  fc.uint8Array({ maxLength: 2048 }).map((junk) => () => junk),
);

// ---------------------------------------------------------------- probe lines

const goodProbe = (host: string, f: { status: string; second: number; summary: string }) =>
  JSON.stringify({
    timestamp: new Date(Date.UTC(2026, 2, 1) + f.second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    hostname: host,
    service: 'org.openstack.nova',
    metric: 'eu.egi.cloud.OpenStack-VM',
    status: f.status,
    summary: f.summary,
    message: '',
    monitoring_host: 'mon.example.org',
  });
const probeFields = fc.record({
  status: fc.constantFrom('OK', 'WARNING', 'CRITICAL', 'UNKNOWN'),
  second: fc.nat({ max: 86_399 }),
  summary: fc.string({ maxLength: 80, unit: 'binary' }),
});
/** A defect that makes a probe line invalid. */
const probeDefect = fc.oneof(
  // A proper prefix of a JSON object, never empty (a blank line is skipped, not rejected).
  fc.nat().map((n) => (line: string) => line.slice(0, 1 + (n % (line.length - 2)))),
  fc.constant((line: string) => line.replace(/"status":"[A-Z]+"/, '"status":"BROKEN"')),
  fc.constant((line: string) => line.replace(/"timestamp":"[^"]+"/, '"timestamp":"2026-03-01 12:00"')),
  fc.constant((line: string) => line.replace(/"hostname":"[^"]+",/, '')),
  fc.constant((line: string) => line.replace(/"metric":"[^"]+"/, '"metric":12345678901234567890123')),
  fc.constantFrom('[]', 'null', '42', '"x"').map((v) => () => v),
);
const probeBody = fc.record({
  lines: fc.array(fc.record({ fields: probeFields, defect: fc.option(probeDefect, { freq: 2 }) }), {
    minLength: 1,
    maxLength: 20,
  }),
  crlf: fc.boolean(),
});

// ---------------------------------------------------------------- GOCDB documents

const gocdbDocuments = ['get_site_list.xml', 'get_service_endpoint.xml', 'get_downtime.xml'].map((f) =>
  readFileSync(path.join(DEMO_DIR, 'gocdb', f), 'utf8'),
);
const gocdbInput = fc.record({
  doc: fc.constantFrom(...gocdbDocuments),
  mutation: fc.oneof(
    fc.nat().map((n) => (x: string) => x.slice(0, n % (x.length + 1))),
    fc.record({ at: fc.nat(), junk: fc.string({ maxLength: 30, unit: 'binary' }) }).map(
      ({ at, junk }) =>
        (x: string) =>
          x.slice(0, at % (x.length + 1)) + junk + x.slice(at % (x.length + 1)),
    ),
    fc
      .record({ tag: fc.constantFrom('START_DATE', 'END_DATE', 'HOSTNAME', 'SITENAME', 'SEVERITY'), v: fc.string() })
      .map(
        ({ tag, v }) =>
          (x: string) =>
            x.replaceAll(new RegExp(`<${tag}>[^<]*</${tag}>`, 'g'), `<${tag}>${v.replace(/[<&]/g, '')}</${tag}>`),
      ),
    fc.constant((x: string) => x.replace('<results>', '<results><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>')),
    fc.constant((x: string) => x.replaceAll('</', '<')),
  ),
});

// ---------------------------------------------------------------- GraphQL

const FIELDS = [
  'accountingSummary(groupBy: [site]) { rows { key { site } figures { vms coreHours } } }',
  'quarantine(first: 5) { edges { node { sourceMessageId recordIndex } } }',
  'projections { name }',
  'qualityWarnings { site }',
  '__typename',
  '__schema { types { name fields { name type { name ofType { name ofType { name } } } } } }',
];
const graphqlQuery = fc.oneof(
  fc
    .nat({ max: 300 })
    .map((depth) => `{ ${'quarantine { edges { node { '.repeat(depth)}__typename${' } } }'.repeat(depth)} }`),
  fc.array(fc.constantFrom(...FIELDS), { minLength: 1, maxLength: 400 }).map((fs) => `{ ${fs.join(' ')} }`),
  fc
    .record({ n: fc.integer({ min: 1, max: 2000 }), field: fc.constantFrom(...FIELDS) })
    .map(({ n, field }) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`),
  fc.string({ maxLength: 500, unit: 'binary' }),
  fc
    .array(fc.constantFrom(...FIELDS), { maxLength: 30 })
    .map((fs) => `query { ${fs.join(' ')} ... on Query { ${fs.join(' ')} } }`),
);
const graphqlBody = fc.oneof(
  graphqlQuery.map((query) => JSON.stringify({ query })),
  fc.array(graphqlQuery, { minLength: 0, maxLength: 50 }).map((qs) => JSON.stringify(qs.map((query) => ({ query })))),
  fc.record({ query: graphqlQuery, variables: fc.jsonValue() }).map((b) => JSON.stringify(b)),
  fc.string({ maxLength: 300, unit: 'binary' }),
);

// ---------------------------------------------------------------- the run

export async function fuzzBadInput(options: { seed: number; runs: number }): Promise<FuzzOutcome> {
  const h = await startHarness({ seed: false, config: { rateLimitPerSecond: 0 } });
  const staff = h.token('staff');
  const outcome: FuzzOutcome = { tried: 0, violations: [] };
  const send = async (route: string, body: Uint8Array | string, contentType: string): Promise<PushAnswer> => {
    outcome.tried += 1;
    const response = await fetch(`${h.url}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${staff}`, 'content-type': contentType, accept: 'application/json' },
      body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]),
    });
    const text = await response.text();
    let parsed: PushAnswer['body'] = {};
    try {
      parsed = JSON.parse(text) as PushAnswer['body'];
    } catch {
      if (response.status < 500) throw new Error(`${route} answered ${response.status} with a body that is not JSON`);
    }
    return { status: response.status, body: parsed };
  };
  let messages = 0;
  try {
    await check(
      outcome,
      'apel message with bad records',
      options,
      fc.asyncProperty(messageSpec, async (spec) => {
        const { bytes, good, bad } = buildMessage(spec, `fz${options.seed}-${messages++}`);
        const { answer, appended } = await pushed(h, () => send('/v1/apel/cloud', bytes, 'text/plain'));
        expect(answer.status === (good.length > 0 ? 200 : 422), `status ${answer.status}`);
        expect(answer.body.accepted === good.length, `accepted ${answer.body.accepted}, expected ${good.length}`);
        expect(answer.body.rejected === bad.length, `rejected ${answer.body.rejected}, expected ${bad.length}`);
        for (const b of bad)
          expect(
            answer.body.errors!.some((e) => e.record === b.index && e.field === b.field && e.message !== ''),
            `record ${b.index}: no error naming field ${b.field}: ${JSON.stringify(answer.body.errors)}`,
          );
        for (const g of good)
          expect(
            appended.some((e) => e.stream === streams.vm(g.site, g.uuid) && e.type === 'CloudUsageRecorded'),
            `record ${g.index} (${g.uuid}) not stored`,
          );
        const quarantine = await quarantineOf(h, bytes);
        expectQuarantine(
          quarantine,
          bad.length,
          'CloudRecordRejected',
          'recordIndex',
          new Set(bad.map((b) => b.index)),
        );
        await expectResendUnchanged(h, () => send('/v1/apel/cloud', bytes, 'text/plain'), good.length);
      }),
    );

    await check(
      outcome,
      'damaged apel message',
      options,
      fc.asyncProperty(messageSpec, damage, async (spec, harm) => {
        const bytes = harm(buildMessage(spec, `fd${options.seed}-${messages++}`).bytes);
        const answer = await send('/v1/apel/cloud', bytes, 'text/plain');
        expect([200, 400, 422].includes(answer.status), `status ${answer.status}`);
        if (answer.status === 400) return;
        const rejected = answer.body.rejected!;
        for (const e of answer.body.errors!) expect(e.message !== '' && e.line !== null, `error without its place`);
        const quarantine = await quarantineOf(h, bytes);
        expectQuarantine(quarantine, rejected, 'CloudRecordRejected', 'recordIndex', null);
        await expectResendUnchanged(h, () => send('/v1/apel/cloud', bytes, 'text/plain'), answer.body.accepted!);
      }),
    );

    let probeHosts = 0;
    // A body of constant bad lines recurs across runs: the second time, its quarantine is already written.
    const probeBodies = new Set<string>();
    await check(
      outcome,
      'probe lines',
      options,
      fc.asyncProperty(probeBody, async ({ lines, crlf }) => {
        const batch = probeHosts++;
        const texts = lines.map((l, i) => {
          const line = goodProbe(`h${options.seed}-${batch}-${i}.example.org`, l.fields);
          return l.defect ? l.defect(line) : line;
        });
        const badLines = lines.flatMap((l, i) => (l.defect ? [i + 1] : []));
        const body = texts.join(crlf ? '\r\n' : '\n');
        const { answer, appended } = await pushed(h, () => send('/v1/probes', body, 'text/plain'));
        expect(answer.status === 200, `status ${answer.status}`);
        expect(answer.body.accepted === lines.length - badLines.length, `accepted ${answer.body.accepted}`);
        expect(answer.body.rejected === badLines.length, `rejected ${answer.body.rejected}`);
        for (const line of badLines)
          expect(
            answer.body.errors!.some((e) => e.line === line && e.message !== ''),
            `line ${line}: no error naming it`,
          );
        const quarantine = appended.filter((e) => e.stream.startsWith(streams.quarantine('')));
        const fresh = !probeBodies.has(body);
        probeBodies.add(body);
        expectQuarantine(quarantine, fresh ? badLines.length : 0, 'InputRejected', 'line', new Set(badLines));
        await expectResendUnchanged(h, () => send('/v1/probes', body, 'text/plain'), lines.length - badLines.length);
      }),
    );

    await check(
      outcome,
      'gocdb document',
      options,
      fc.asyncProperty(gocdbInput, async ({ doc, mutation }) => {
        const xml = mutation(doc);
        const ingest = async () => {
          outcome.tried += 1;
          try {
            return await ingestGocdb(h.log, xml, { publisher: 'fuzz', source: 'fuzz.xml' });
          } catch (error) {
            // Refusing a document is fine when it says why, as a coded error naming the source.
            expect(error instanceof FedledgerError && error.message.includes('fuzz.xml'), `threw ${String(error)}`);
            return null;
          }
        };
        const first = await ingest();
        const head = await h.log.headPosition();
        const second = await ingest();
        expect((first === null) === (second === null), 'a re-sent document was answered differently');
        expect((await h.log.headPosition()) === head, 'a re-sent document changed the log');
      }),
    );

    await check(
      outcome,
      'graphql request',
      options,
      fc.asyncProperty(graphqlBody, async (body) => {
        const answer = await send('/graphql', body, 'application/json');
        expect(answer.status < 500, `status ${answer.status}`);
      }),
    );

    await check(
      outcome,
      'graphql GET request',
      options,
      fc.asyncProperty(graphqlQuery, fc.jsonValue(), async (query, variables) => {
        outcome.tried += 1;
        const params = new URLSearchParams({ query, variables: JSON.stringify(variables) });
        const response = await fetch(`${h.url}/graphql?${params}`, {
          headers: { authorization: `Bearer ${staff}`, accept: 'application/json' },
        });
        await response.arrayBuffer();
        expect(response.status < 500, `status ${response.status}`);
      }),
    );
  } finally {
    await h.close();
  }
  return outcome;
}

class Violation extends Error {}
function expect(ok: boolean, what: string): void {
  if (!ok) throw new Violation(what);
}

/** Runs one property; a counterexample is recorded (shrunk, with its seed and path) rather than thrown. */
async function check<T>(
  outcome: FuzzOutcome,
  kind: string,
  options: { seed: number; runs: number },
  property: fc.IAsyncProperty<T>,
): Promise<void> {
  const details = await fc.check(property, { seed: options.seed, numRuns: options.runs, endOnFailure: false });
  if (details.failed)
    outcome.violations.push(
      `${kind}: ${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}` +
        ` (seed ${details.seed}, path "${details.counterexamplePath}", input ${fc.stringify(details.counterexample).slice(0, 500)})`,
    );
}

/** Sends once and returns the answer with the events it appended. */
async function pushed(h: Harness, send: () => Promise<PushAnswer>) {
  const head = await h.log.headPosition();
  const answer = await send();
  const appended: RecordedEvent[] = [];
  for await (const e of h.log.readAll({ fromPosition: head + 1n })) appended.push(e);
  return { answer, appended };
}

/** A message's quarantine stream (a damaged message may repeat one sent before: its quarantine is not written twice). */
async function quarantineOf(h: Harness, message: Uint8Array): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  try {
    for await (const e of h.log.readStream(streams.quarantine(sourceMessageIdOf(message)))) events.push(e);
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return events;
}

/** The quarantine got the message (APEL) and one event per rejected record or line, at the indices expected. */
function expectQuarantine(
  events: readonly RecordedEvent[],
  rejected: number,
  type: string,
  key: 'recordIndex' | 'line',
  indices: ReadonlySet<number> | null,
): void {
  const records = events.filter((e) => e.type === type);
  expect(records.length === rejected, `${records.length} ${type} events for ${rejected} rejected`);
  for (const r of records) {
    const errors = r.data['errors'] as Array<{ message: string; field: string | null }>;
    expect(errors.length > 0 && errors.every((e) => e.message !== ''), `${type} without its errors`);
    if (indices) expect(indices.has(r.data[key] as number), `${type} at unexpected ${key} ${r.data[key]}`);
  }
  if (type === 'CloudRecordRejected')
    expect(events.filter((e) => e.type === 'MessageQuarantined').length === (rejected > 0 ? 1 : 0), 'message text');
}

async function expectResendUnchanged(h: Harness, send: () => Promise<PushAnswer>, unchanged: number): Promise<void> {
  const head = await h.log.headPosition();
  const again = await send();
  expect(again.status < 500, `re-send: status ${again.status}`);
  expect(again.body.accepted === 0, `re-send: accepted ${again.body.accepted}`);
  expect(again.body.unchanged === unchanged, `re-send: unchanged ${again.body.unchanged}, expected ${unchanged}`);
  expect((await h.log.headPosition()) === head, 're-send appended events');
}
