/**
 * Rejected probe results and GOCDB documents: quarantined with their errors, projected into the availability read
 * model, and listed in the report's data-quality section beside the APEL rejections.
 */
import test from 'ava';
import { accountingProjection } from '../../projections/accounting/apply.ts';
import { availabilityProjection } from '../../projections/availability/apply.ts';
import { rejectedInputs } from '../../projections/availability/queries.ts';
import { openEventLog } from '../../src/eventlog/open.ts';
import { ingestGocdb, ingestProbeResults } from '../../src/ingest/availability-service.ts';
import { parseGocdb } from '../../src/ingest/gocdb.ts';
import { ProjectionRunner } from '../../src/projection/runner.ts';
import { composeReport } from '../../src/reports/compose.ts';
import { gatherInput, readModelDbs } from '../../src/reports/generate.ts';
import { parsePeriod } from '../../src/reports/period.ts';
import { reportTables } from '../../src/reports/render-tables.ts';
import { tempDir } from '../support/tmp.ts';

const probe = (status: string) =>
  JSON.stringify({
    timestamp: '2026-10-05T10:00:00Z',
    hostname: 'a.example.org',
    service: 'org.openstack.nova',
    metric: 'org.nagios.Keystone-TCP',
    status,
    summary: '',
    message: '',
    monitoring_host: 'mon',
  });
const CUT_SHORT = '<results>\n  <SITE NAME="SITE-A" ROC="NGI_X">\n    <COUNTRY>X';
const BAD_DOWNTIME = `<results><DOWNTIME PRIMARY_KEY="1G0"><HOSTNAME>a.example.org</HOSTNAME><SERVICE_TYPE>org.openstack.nova</SERVICE_TYPE>
  <CLASSIFICATION>SCHEDULED</CLASSIFICATION><SEVERITY>OUTAGE</SEVERITY><START_DATE>soon</START_DATE><END_DATE>1790000000</END_DATE></DOWNTIME></results>`;

test('GOCDB documents that are not well-formed get fedledger’s own error: file, line, element, code', (t) => {
  const error = (xml: string) => {
    try {
      parseGocdb(xml, 'sites.xml');
    } catch (e) {
      return e as Error & { code: string; location: object };
    }
    throw new Error('parsed');
  };
  const cut = error(CUT_SHORT);
  t.is(cut.code, 'INVALID_GOCDB_XML');
  t.is(
    cut.message,
    'sites.xml line 3 in <COUNTRY>: <COUNTRY> is never closed: the document is cut short or not well-formed XML',
  );
  t.deepEqual(cut.location, { message: 'sites.xml', line: 3, field: 'COUNTRY' });
  t.is(
    error('<results>\n<SITE NAME="A">\n</results>').message,
    'sites.xml line 3 in <SITE>: </results> closes <SITE>, opened on line 2: not well-formed XML',
  );
  t.is(error('this is not XML').message, 'sites.xml line 1: not XML: it does not start with a tag');
  t.like(error('<html><body>login</body></html>'), {
    code: 'NOT_GOCDB_DOCUMENT',
    message: 'sites.xml: no <results> root: not a GOCDB programmatic-interface document',
  });
});

test('rejected probe lines and GOCDB elements and documents are quarantined, projected and reported', async (t) => {
  const { dir, cleanup } = tempDir();
  const log = await openEventLog({ dataDir: dir });
  const runners = new Map(
    [accountingProjection, availabilityProjection].map((p) => [
      p.name,
      new ProjectionRunner(log, p, `${dir}/projections`),
    ]),
  );
  t.teardown(async () => {
    for (const r of runners.values()) await r.close();
    await log.close();
    cleanup();
  });
  const receivedAt = new Date('2026-10-06T08:00:00Z');
  const probes = await ingestProbeResults(log, [probe('OK'), probe('FINE')].join('\n'), {
    publisher: 'file:probes.jsonl',
    source: 'probes.jsonl',
    receivedAt,
  });
  t.like(probes, { accepted: 1, rejected: 1 });
  const cut = await ingestGocdb(log, CUT_SHORT, { publisher: 'file:sites.xml', source: 'sites.xml', receivedAt });
  t.like(cut, { kind: null, accepted: 0, rejected: 1 });
  t.is(cut.errors[0]!.code, 'INVALID_GOCDB_XML');
  t.like(
    await ingestGocdb(log, BAD_DOWNTIME, { publisher: 'file:downtimes.xml', source: 'downtimes.xml', receivedAt }),
    {
      kind: 'downtimes',
      rejected: 1,
    },
  );
  for (const r of runners.values()) await r.catchUp();

  const db = runners.get('availability')!.db;
  // Sorted by publisher: rows of one reception time come in source-hash order.
  t.deepEqual(
    rejectedInputs(db)
      .map((r) => [r.input, r.publisher, r.line, r.errors.map((e) => [e.code, e.field, e.line, e.reason])])
      .sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
    [
      ['gocdb', 'file:downtimes.xml', 1, [['INVALID_GOCDB_ELEMENT', 'START_DATE', null, 'must be epoch seconds']]],
      [
        'probe-result',
        'file:probes.jsonl',
        2,
        [['INVALID_PROBE_RESULT', 'status', 2, 'must be one of OK, WARNING, CRITICAL, UNKNOWN or an exit code 0..3']],
      ],
      [
        'gocdb',
        'file:sites.xml',
        null,
        [
          [
            'INVALID_GOCDB_XML',
            'COUNTRY',
            3,
            '<COUNTRY> is never closed: the document is cut short or not well-formed XML',
          ],
        ],
      ],
    ],
  );
  t.deepEqual(rejectedInputs(db, { from: '2026-11-01T00:00:00Z' }), []);

  const content = composeReport(gatherInput(readModelDbs(runners), parsePeriod('2026-10')));
  t.deepEqual(reportTables(content).find((x) => x.name === 'rejected-inputs')!.rows, [
    {
      input: 'gocdb',
      publisher: 'file:downtimes.xml',
      rejected: 1,
      firstError: 'downtimes.xml DOWNTIME #1 field START_DATE: must be epoch seconds',
    },
    {
      input: 'gocdb',
      publisher: 'file:sites.xml',
      rejected: 1,
      firstError:
        'sites.xml line 3 in <COUNTRY>: <COUNTRY> is never closed: the document is cut short or not well-formed XML',
    },
    {
      input: 'probe-result',
      publisher: 'file:probes.jsonl',
      rejected: 1,
      firstError:
        'probes.jsonl line 2 field status: must be one of OK, WARNING, CRITICAL, UNKNOWN or an exit code 0..3',
    },
  ]);
});
