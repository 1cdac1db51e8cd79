import test from 'ava';
import { EVENT_VERSIONS, streams } from '../../src/events/catalogue.ts';
import { decode } from '../../src/events/codec.ts';
import { queryQuarantine } from '../../projections/accounting/queries.ts';
import { prepareApelMessage } from '../../src/ingest/apel-service.ts';
import { quarantinedMessageText, recordTextOf } from '../../src/ingest/quarantine.ts';
import { decodeUtf8Lines } from '../../src/ingest/utf8-lines.ts';
import { ledger, message, record } from '../accounting/support.ts';

const JAN10 = Date.UTC(2026, 0, 10) / 1000;

test('a large bad message is stored once, in the log; its records keep bounded excerpts, in the log and read model', async (t) => {
  const l = await ledger();
  const huge = 'x'.repeat(2_000_000);
  const text = message(
    'v0.4',
    record({ VMUUID: 'ok-1', StartTime: JAN10 }),
    record({ VMUUID: 'bad-2', StartTime: JAN10, [`K${huge}`]: 1 }),
    record({ VMUUID: 'bad-3', StartTime: JAN10, MachineName: huge }),
  );
  const result = await l.ingest(text, '2026-01-12T00:00:00Z');
  t.like(result, { accepted: 1, rejected: 2 });
  t.true(result.errors.every((e) => e.reason.length < 300 && (e.field ?? '').length < 300));

  const stored = [];
  for await (const e of l.log.readAll()) stored.push({ type: e.type, json: JSON.stringify(e.data) });
  const holding = stored.filter((e) => e.json.includes(huge.slice(0, 100_000)));
  t.deepEqual(
    holding.map((e) => e.type),
    ['MessageQuarantined'],
    'the text is in one event',
  );
  const total = stored.reduce((n, e) => n + e.json.length, 0);
  t.true(total < text.length + 20_000, `${total} characters of events for a message of ${text.length}`);

  const rows = queryQuarantine(l.runner.db);
  t.deepEqual(
    rows.map((q) => q.recordIndex),
    [2, 3],
  );
  for (const q of rows) {
    t.true(q.recordExcerpt.length <= 4096 + 40, String(q.recordExcerpt.length));
    t.regex(q.recordExcerpt, /… \(\d+ characters\)$/);
    t.true(q.recordLength > huge.length);
  }
  const kept = await quarantinedMessageText(l.log, rows[0]!.sourceMessageId);
  t.is(kept.text, text);
  const third = rows[1]!;
  t.is(recordTextOf(kept.text, third.line!, third.lastLine!).length, third.recordLength);
  t.regex(recordTextOf(kept.text, third.line!, third.lastLine!), /^VMUUID: bad-3\n[^]*MachineName: x+$/);
  await l.close();
});

test('a message re-sent with the same bad record adds no second copy of its text', async (t) => {
  const l = await ledger();
  const text = message('v0.4', record({ VMUUID: 'bad-1', WallDuration: '1.5' }));
  await l.ingest(text, '2026-01-12T00:00:00Z');
  const head = await l.log.headPosition();
  await l.ingest(text, '2026-01-12T00:00:00Z');
  t.is(await l.log.headPosition(), head);
  await l.close();
});

test('a rejected record written by an earlier build (version 1, both texts inside) reads as version 2', async (t) => {
  const l = await ledger();
  const messageText = 'APEL-cloud-message: v0.2\nVMUUID: vm-1\nSiteName: SITE-A\nMemory: 1.5\n';
  const errors = [
    { message: 'm', record: 1, line: 2, field: 'Memory', code: 'NOT_INTEGER', reason: '"1.5" is not an integer' },
  ];
  const v1 = {
    sourceMessageId: 'abc',
    recordIndex: 1,
    recordText: 'VMUUID: vm-1\nSiteName: SITE-A\nMemory: 1.5',
    messageText,
    errors,
    receivedAt: '2026-01-12T00:00:00.000Z',
    publisher: 'old',
    siteName: 'SITE-A',
  };
  await l.log.append(streams.quarantine('abc'), [
    {
      id: '00000000-0000-4000-8000-000000000001',
      type: 'CloudRecordRejected',
      schemaVersion: 1,
      dataJson: JSON.stringify(v1),
    },
  ]);
  t.is(EVENT_VERSIONS.CloudRecordRejected, 2);
  let decoded;
  for await (const e of l.log.readStream(streams.quarantine('abc'))) decoded = decode(e);
  t.like(decoded!.data, {
    recordIndex: 1,
    line: 2,
    lastLine: null,
    recordExcerpt: v1.recordText,
    recordLength: v1.recordText.length,
    messageVersion: 'v0.2',
  });
  await l.runner.catchUp();
  t.like(queryQuarantine(l.runner.db)[0], { sourceMessageId: 'abc', recordExcerpt: v1.recordText, siteName: 'SITE-A' });
  t.is((await quarantinedMessageText(l.log, 'abc')).text, messageText);
  await l.close();
});

test('invalid UTF-8 in a record rejects that record, naming its field; the message keeps its other records', (t) => {
  const head = Buffer.from('APEL-cloud-message: v0.4\n');
  const bytes = (text: string) => Buffer.from(text, 'latin1');
  const body = Buffer.concat([
    head,
    bytes('VMUUID: ab\xff\xfecd\nSiteName: SITE-A\n%%\n'),
    bytes('VMUUID: ab\xc0\xafcd\nSiteName: SITE-A\n%%\n'),
    bytes('VMUUID: ok\nSiteName: SITE-A\nMachineName: h\xe9te\n%%\n'),
    Buffer.from('VMUUID: good-é\nSiteName: SITE-A\n%%\n'),
  ]);
  const prepared = prepareApelMessage(body, { publisher: 't', messageName: 'm' });
  t.is(prepared.appends.length, 1);
  t.true(prepared.appends[0]!.stream.includes('good-é'));
  t.is(prepared.rejected, 3);
  t.deepEqual(
    prepared.errors.map((e) => [e.record, e.line, e.field]),
    [
      [1, 2, 'VMUUID'],
      [2, 5, 'VMUUID'],
      [3, 10, 'MachineName'],
    ],
  );
  t.true(prepared.errors.every((e) => /not valid UTF-8/.test(e.reason)));
  t.is(prepared.errors.length, 3, 'a mandatory field with invalid bytes is one error, not also "missing"');
});

test('decodeUtf8Lines: valid bytes decode as they are (BOM and CRLF kept); invalid ones are listed by line', (t) => {
  const valid = Buffer.from('\ufeffA: é\r\nB: 💡\n');
  t.deepEqual(decodeUtf8Lines(valid), { text: valid.toString('utf8'), invalidLines: [] });
  const mixed = Buffer.concat([
    Buffer.from('ok\r\n'),
    Buffer.from([0x61, 0xff, 0x0a]),
    Buffer.from('é\n'),
    Buffer.from([0xc0, 0xaf]),
  ]);
  t.deepEqual(decodeUtf8Lines(mixed), { text: 'ok\r\na\ufffd\né\n\ufffd\ufffd', invalidLines: [2, 4] });
});
