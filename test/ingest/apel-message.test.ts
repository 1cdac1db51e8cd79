import test from 'ava';
import { parseApelCloudMessage, splitFqan } from '../../src/ingest/apel-message.ts';

const V04 = 'APEL-cloud-message: v0.4';
const V02 = 'APEL-cloud-message: v0.2';

/** A valid minimal record, with extra lines appended. */
const rec = (uuid: string, ...extra: string[]) => [`VMUUID: ${uuid}`, 'SiteName: SITE-A', ...extra].join('\n');
const msg = (header: string, ...records: string[]) => `${header}\n${records.join('\n%%\n')}\n`;

test('a record splits at the first colon, trims both sides, and keeps colons in values', (t) => {
  const { records, rejected } = parseApelCloudMessage(msg(V04, rec('vm-1', '  MachineName :  host:8080/a b  ')), 'm');
  t.deepEqual(rejected, []);
  t.is(records[0]!.record.machineName, 'host:8080/a b');
});

test('None, NULL and the empty value are null; key order is free; the final %% is optional', (t) => {
  const text = `${V04}\nImageId: None\nSiteName: SITE-A\nDisk: NULL\nVMUUID: vm-1\nMemory:\n%%\nVMUUID: vm-2\nSiteName: SITE-A\nDisk: 10`;
  const { records, rejected } = parseApelCloudMessage(text, 'm');
  t.deepEqual(rejected, []);
  t.is(records.length, 2);
  t.is(records[0]!.record.imageId, null);
  t.is(records[0]!.record.disk, null);
  t.is(records[0]!.record.memory, null);
  t.is(records[1]!.record.disk, 10);
});

test('CRLF line endings and blank lines inside records are accepted; line numbers count every line', (t) => {
  const text = `${V04}\r\nVMUUID: vm-1\r\n\r\nSiteName: SITE-A\r\nWallDuration: x\r\n%%\r\n`;
  const { rejected } = parseApelCloudMessage(text, 'm');
  t.is(rejected[0]!.errors[0]!.line, 5);
});

test('integers and decimals: CpuCount and Benchmark may be fractional, durations may not', (t) => {
  const { records } = parseApelCloudMessage(
    msg(V04, rec('vm-1', 'CpuCount: 1.456', 'Benchmark: 200', 'WallDuration: 86400')),
    'm',
  );
  t.is(records[0]!.record.cpuCount, 1.456);
  t.is(records[0]!.record.benchmark, 200);
  t.is(records[0]!.record.wallDuration, 86400);
});

for (const bad of ['1.5', '8.64e4', '86_400', '2048MB', ' 12 3']) {
  test(`integer field rejects ${JSON.stringify(bad)}`, (t) => {
    const { records, rejected } = parseApelCloudMessage(msg(V04, rec('vm-1', `Memory: ${bad}`)), 'm');
    t.is(records.length, 0);
    t.is(rejected[0]!.errors[0]!.field, 'Memory');
    t.is(rejected[0]!.errors[0]!.code, 'NOT_INTEGER');
  });
}

test('epoch and ISO 8601 (UTC) times; EndTime 0 means not ended', (t) => {
  const { records, rejected } = parseApelCloudMessage(
    msg(
      V04,
      rec('vm-1', 'StartTime: 2026-01-31T23:00:00Z', 'EndTime: 0', 'RecordCreateTime: 2026-02-01T01:00:00+01:00'),
    ),
    'm',
  );
  t.deepEqual(rejected, []);
  t.is(records[0]!.record.startTime, Date.UTC(2026, 0, 31, 23) / 1000);
  t.is(records[0]!.record.endTime, null);
  t.is(records[0]!.record.recordCreateTime, Date.UTC(2026, 1, 1, 0) / 1000);
});

test('a time without zone, or not a time at all, is an unparseable time', (t) => {
  const { rejected } = parseApelCloudMessage(
    msg(V04, rec('vm-1', 'StartTime: 2026-01-31 23:00:00'), rec('vm-2', 'EndTime: yesterday')),
    'm',
  );
  t.deepEqual(
    rejected.map((r) => [r.index, r.errors[0]!.field, r.errors[0]!.code]),
    [
      [1, 'StartTime', 'BAD_TIME'],
      [2, 'EndTime', 'BAD_TIME'],
    ],
  );
});

test('FQAN: bare VO name, and /vo/group/Role=.../Capability=...', (t) => {
  t.deepEqual(splitFqan('vo.sample.org'), { vo: 'vo.sample.org', voGroup: null, voRole: null });
  t.deepEqual(splitFqan('/ops/Role=NULL/Capability=NULL'), { vo: 'ops', voGroup: '/ops', voRole: 'Role=NULL' });
  t.deepEqual(splitFqan('/atlas/higgs/Role=production/Capability=NULL;/atlas/Role=NULL'), {
    vo: 'atlas',
    voGroup: '/atlas/higgs',
    voRole: 'Role=production',
  });
  t.deepEqual(splitFqan('/biomed'), { vo: 'biomed', voGroup: '/biomed', voRole: null });
  t.deepEqual(splitFqan(null), { vo: null, voGroup: null, voRole: null });
});

test('each kind of bad input rejects only its record, naming message, record, line, field and reason', (t) => {
  const text = msg(
    V04,
    rec('ok-1', 'WallDuration: 10'),
    rec('vm-2', 'Colour: blue'), // unknown field
    'VMUUID: vm-3\nSiteName: NULL', // null SiteName
    'SiteName: SITE-A\nMemory: 5', // missing VMUUID
    rec('vm-5', 'WallDuration: 1.5'), // non-integer duration
    rec('vm-6', 'StartTime: soon'), // unparseable time
    rec('vm-7', 'Memory: 1', 'Memory: 2'), // repeated key
    rec('vm-8', 'CpuCount: -2'), // out of range
    rec('vm-9', 'CpuDuration: 18446744073709551616'), // beyond 64 bits
    rec(`${'x'.repeat(256)}`), // VMUUID over 255 characters
    rec('vm-11', 'CpuCount: nan'),
    rec('ok-12'),
  );
  const { records, rejected } = parseApelCloudMessage(text, 'site-a/0001');
  t.deepEqual(
    records.map((r) => r.record.vmUuid),
    ['ok-1', 'ok-12'],
  );
  const summary = rejected.map((r) => {
    const e = r.errors[0]!;
    return [e.message, e.record, e.line, e.field, e.code];
  });
  t.deepEqual(summary, [
    ['site-a/0001', 2, 8, 'Colour', 'UNKNOWN_FIELD'],
    ['site-a/0001', 3, 11, 'SiteName', 'NULL_FIELD'],
    ['site-a/0001', 4, 13, 'VMUUID', 'MISSING_FIELD'],
    ['site-a/0001', 5, 18, 'WallDuration', 'NOT_INTEGER'],
    ['site-a/0001', 6, 22, 'StartTime', 'BAD_TIME'],
    ['site-a/0001', 7, 27, 'Memory', 'REPEATED_FIELD'],
    ['site-a/0001', 8, 31, 'CpuCount', 'OUT_OF_RANGE'],
    ['site-a/0001', 9, 35, 'CpuDuration', 'OUT_OF_RANGE'],
    ['site-a/0001', 10, 37, 'VMUUID', 'OUT_OF_RANGE'],
    ['site-a/0001', 11, 42, 'CpuCount', 'NOT_DECIMAL'],
  ]);
  t.true(rejected.every((r) => r.errors.every((e) => e.reason.length > 0)));
  t.is(rejected[1]!.siteName, null);
  t.is(rejected[3]!.siteName, 'SITE-A');
  t.regex(rejected[5]!.errors[0]!.reason, /line 26/);
});

test('a value beyond 2^53 is out of range (a JS number would not hold it exactly)', (t) => {
  const { rejected } = parseApelCloudMessage(msg(V04, rec('vm-1', `NetworkInbound: ${2 ** 53}`)), 'm');
  t.is(rejected[0]!.errors[0]!.code, 'OUT_OF_RANGE');
  const ok = parseApelCloudMessage(msg(V04, rec('vm-1', `NetworkInbound: ${2 ** 53 - 1}`)), 'm');
  t.is(ok.records[0]!.record.networkInbound, 2 ** 53 - 1);
});

test('a lowercase header rejects the whole message', (t) => {
  const { version, records, rejected } = parseApelCloudMessage(msg('apel-cloud-message: v0.4', rec('vm-1')), 'm');
  t.is(version, null);
  t.is(records.length, 0);
  t.is(rejected.length, 1);
  t.is(rejected[0]!.index, null);
  t.is(rejected[0]!.errors[0]!.code, 'BAD_HEADER');
  t.is(rejected[0]!.errors[0]!.line, 1);
});

test('an unknown version is a bad header', (t) => {
  const { rejected } = parseApelCloudMessage(msg('APEL-cloud-message: v0.3', rec('vm-1')), 'm');
  t.regex(rejected[0]!.errors[0]!.reason, /unsupported version/);
});

test('v0.4-only fields are unknown in v0.2 and v0.1; the v0.2 set is accepted by both', (t) => {
  const v02 = parseApelCloudMessage(
    msg(V02, rec('vm-1', 'CloudComputeService: x'), rec('vm-2', 'CloudType: OpenNebula')),
    'm',
  );
  t.is(v02.rejected[0]!.errors[0]!.code, 'UNKNOWN_FIELD');
  t.regex(v02.rejected[0]!.errors[0]!.reason, /v0\.4/);
  t.is(v02.records[0]!.record.cloudType, 'OpenNebula');
  const v01 = parseApelCloudMessage(msg('APEL-cloud-message: v0.1', rec('vm-1', 'ImageId: img')), 'm');
  t.is(v01.version, 'v0.1');
  t.is(v01.records[0]!.record.imageId, 'img');
});

test('UpdateTime, MeasurementTime, MeasurementMonth and MeasurementYear are accepted and ignored', (t) => {
  const { records, rejected } = parseApelCloudMessage(
    msg(V04, rec('vm-1', 'UpdateTime: whenever', 'MeasurementTime: 1', 'MeasurementMonth: 13', 'MeasurementYear: x')),
    'm',
  );
  t.deepEqual(rejected, []);
  t.is(records.length, 1);
});

test('tabs and spaces around keys and values are trimmed; lines without a colon do not shift the next fields', (t) => {
  const text = msg(
    V04,
    rec('vm-1', 'Memory:\t 2048 \t', '\tImageId\t:\u00a0img:1\u00a0'),
    rec('vm-2', 'just text', '%% not a separator', 'Disk: 40'),
  );
  const { records, rejected } = parseApelCloudMessage(text, 'm');
  t.like(records[0]!.record, { memory: 2048, imageId: 'img:1' });
  t.deepEqual(
    rejected[0]!.errors.map((e) => [e.line, e.code]),
    [
      [9, 'NOT_KEY_VALUE'],
      [10, 'NOT_KEY_VALUE'],
    ],
  );
  t.is(rejected[0]!.text, 'VMUUID: vm-2\nSiteName: SITE-A\njust text\n%% not a separator\nDisk: 40');
});

test('a line without a colon rejects its record', (t) => {
  const { rejected } = parseApelCloudMessage(msg(V04, rec('vm-1', 'just text')), 'm');
  t.is(rejected[0]!.errors[0]!.code, 'NOT_KEY_VALUE');
  t.is(rejected[0]!.errors[0]!.field, null);
});

test('keys named like Object.prototype members are unknown fields', (t) => {
  for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    const { records, rejected } = parseApelCloudMessage(msg(V02, rec('vm-1', `${key}: NULL`)), 'm');
    t.is(records.length, 0, key);
    t.like(rejected[0]!.errors[0], { field: key, code: 'UNKNOWN_FIELD' }, key);
  }
});

test('a repeated ignored or unknown key is a repeated field', (t) => {
  const { rejected } = parseApelCloudMessage(
    msg(V04, rec('vm-1', 'UpdateTime: a', 'UpdateTime: b'), rec('vm-2', 'Colour: red', 'Colour: blue')),
    'm',
  );
  t.deepEqual(
    rejected.map((r) => r.errors.map((e) => [e.line, e.code])),
    [
      [[5, 'REPEATED_FIELD']],
      [
        [9, 'UNKNOWN_FIELD'],
        [10, 'REPEATED_FIELD'],
      ],
    ],
  );
});

test('a rejected record keeps its own lines, without blank lines or CRs', (t) => {
  const text = `${V04}\r\nVMUUID: ok\r\nSiteName: S\r\n%%\r\n\r\n VMUUID: vm-2 \r\n\r\nSiteName: S\r\nMemory: x\r\n%%\r\n`;
  const { rejected } = parseApelCloudMessage(text, 'm');
  t.is(rejected[0]!.text, ' VMUUID: vm-2 \nSiteName: S\nMemory: x');
  t.is(rejected[0]!.line, 6);
});

test('the header splits at its colon like any line: no space and extra blanks are the same v0.4 header', (t) => {
  for (const header of ['APEL-cloud-message:v0.4', 'APEL-cloud-message :  v0.4 ']) {
    const { version, records, rejected } = parseApelCloudMessage(msg(header, rec('vm-1')), 'm');
    t.is(version, 'v0.4', header);
    t.deepEqual(rejected, [], header);
    t.is(records.length, 1, header);
  }
  const { rejected } = parseApelCloudMessage(msg('APEL-cloud-message v0.4', rec('vm-1')), 'm');
  t.is(rejected[0]!.errors[0]!.code, 'BAD_HEADER', 'a header without a colon is still bad');
});

test('UTC offsets run from -12:00 to +14:00 with minutes 00-59; others are bad times', (t) => {
  const start = (offset: string) => `StartTime: 2025-12-01T10:00:00${offset}`;
  const good = parseApelCloudMessage(
    msg(V04, rec('vm-1', start('+14:00')), rec('vm-2', start('-12:00')), rec('vm-3', start('+0545'))),
    'm',
  );
  t.deepEqual(good.rejected, []);
  t.deepEqual(
    good.records.map((r) => r.record.startTime),
    [Date.UTC(2025, 10, 30, 20), Date.UTC(2025, 11, 1, 22), Date.UTC(2025, 11, 1, 4, 15)].map((ms) => ms / 1000),
  );
  const offsets = ['+25:00', '+99:99', '+14:01', '-12:30', '+05:60'];
  const bad = parseApelCloudMessage(msg(V04, ...offsets.map((o, i) => rec(`vm-${i}`, start(o)))), 'm');
  t.is(bad.records.length, 0);
  t.deepEqual(
    bad.rejected.map((r) => [r.errors[0]!.field, r.errors[0]!.code]),
    offsets.map(() => ['StartTime', 'BAD_TIME']),
  );
  t.regex(bad.rejected[0]!.errors[0]!.reason, /offset \+25:00, outside -12:00 to \+14:00/);
});

test('an error quotes at most 200 characters of the offending input, with an ellipsis and its full length', (t) => {
  const key = `K${'x'.repeat(1_000_000)}`;
  const value = '9'.repeat(5000) + 'x';
  const { rejected } = parseApelCloudMessage(msg(V04, rec('vm-1', `${key}: 1`), rec('vm-2', `Memory: ${value}`)), 'm');
  const [unknown, notInteger] = [rejected[0]!.errors[0]!, rejected[1]!.errors[0]!];
  t.is(unknown.code, 'UNKNOWN_FIELD');
  t.is(unknown.reason, `unknown field ${JSON.stringify(key.slice(0, 200))}… (1000001 characters)`);
  t.is(unknown.field, `${key.slice(0, 200)}… (1000001 characters)`);
  t.is(notInteger.reason, `${JSON.stringify(value.slice(0, 200))}… (5001 characters) is not a non-negative integer`);
  t.true(rejected.every((r) => r.errors.every((e) => e.reason.length < 300)));
});
