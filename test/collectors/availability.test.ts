/**
 * The collector's reachability check counts in availability: a site watched
 * only by the collector gets a figure, and a site without a collector is not
 * made MISSING by the collector's metric being in the profile.
 */
import { appendByStream } from '../../src/eventlog/append-by-stream.ts';
import test from 'ava';
import { availabilityProjection } from '../../projections/availability/apply.ts';
import { arReport } from '../../projections/availability/queries.ts';
import { COLLECTOR_METRIC } from '../../src/availability/service-types.ts';
import { endpointEvent, probeEvent } from '../../src/collectors/emit.ts';
import { probeTarget } from '../../src/collectors/run.ts';
import type { CollectorSource } from '../../src/collectors/config.ts';
import { openEventLog } from '../../src/eventlog/open.ts';
import { ingestGocdb, ingestProbeResults } from '../../src/ingest/availability-service.ts';
import { ProjectionRunner } from '../../src/projection/runner.ts';
import { tempDir } from '../support/tmp.ts';

const source = {
  kind: 'openstack',
  keystoneUrl: 'https://keystone.coll.example.org:5000/v3',
  site: 'COLL-SITE',
} as CollectorSource;

test('a collector-only site has availability from its API check; a monitored site without a collector is unaffected', async (t) => {
  const { dir, cleanup } = tempDir();
  const log = await openEventLog({ dataDir: dir });
  const { hostname, service, url } = probeTarget(source);
  const check = (timestamp: string, status: 'OK' | 'CRITICAL') =>
    probeEvent({
      timestamp,
      hostname,
      service,
      metric: COLLECTOR_METRIC,
      status,
      summary: status,
      message: '',
      monitoringHost: 'collector:coll',
    });
  await appendByStream(log, [
    endpointEvent({
      siteName: 'COLL-SITE',
      hostname,
      service,
      url,
      primaryKey: null,
      inProduction: true,
      monitored: true,
      scopes: [],
    }),
    check('2026-03-12T00:00:00Z', 'OK'),
    check('2026-03-12T18:00:00Z', 'CRITICAL'),
  ]);
  await ingestGocdb(
    log,
    '<results><SERVICE_ENDPOINT><HOSTNAME>nova.mon.example.org</HOSTNAME><SERVICE_TYPE>org.openstack.nova</SERVICE_TYPE><IN_PRODUCTION>Y</IN_PRODUCTION><NODE_MONITORED>Y</NODE_MONITORED><SITENAME>MON-SITE</SITENAME></SERVICE_ENDPOINT></results>',
    { publisher: 't' },
  );
  await ingestProbeResults(
    log,
    ['eu.egi.cloud.OpenStack-VM', 'org.nagios.Keystone-TCP']
      .map((metric) =>
        JSON.stringify({
          timestamp: '2026-03-12T00:00:00Z',
          hostname: 'nova.mon.example.org',
          service: 'org.openstack.nova',
          metric,
          status: 'OK',
          summary: '',
          message: '',
          monitoring_host: 'mon',
        }),
      )
      .join('\n'),
    { publisher: 't' },
  );
  const runner = new ProjectionRunner(log, availabilityProjection, `${dir}/projections`);
  await runner.catchUp();
  const rows = arReport(runner.db, {
    from: '2026-03-12',
    to: '2026-03-12',
    granularity: 'daily',
    now: new Date('2026-04-01T00:00:00Z'),
    levels: ['site'],
  });
  const bySite = Object.fromEntries(rows.map((r) => [r.site, r.availability]));
  // COLL-SITE: OK 00:00-18:00 then CRITICAL: 18 of 24 hours up.
  t.is(bySite['COLL-SITE'], 75);
  t.is(bySite['MON-SITE'], 100);
  await runner.close();
  await log.close();
  cleanup();
});
