import test from 'ava';
import { fedledgerIn as run } from '../support/cli.ts';
import { tempDir } from '../support/tmp.ts';

function fedledger(dataDir: string, ...args: string[]) {
  const done = run(dataDir, args);
  if (done.code !== 0) throw new Error(`fedledger ${args.join(' ')} exited ${done.code}: ${done.stderr}`);
  return done.stdout;
}

interface Row {
  level: string;
  site: string | null;
  function: string | null;
  service: string | null;
  hostname: string | null;
  group: string | null;
  availability: number;
  reliability: number;
}

/** The bundled fixtures, loaded once: CLOUD-NORTH's accounting publication is CRITICAL 06:00-12:00 on 2026-01-12. */
const data = tempDir();
test.before(() => {
  for (const file of ['get_site_list.xml', 'get_service_endpoint.xml'])
    fedledger(data.dir, 'ingest', 'gocdb', `fixtures/availability/gocdb/${file}`);
  fedledger(data.dir, 'ingest', 'probes', 'fixtures/availability/probes/results.jsonl');
});
test.after.always(data.cleanup);

const day = ['--from', '2026-01-12', '--to', '2026-01-12', '--granularity', 'daily'];

test.serial(
  'export ar on the bundled fixtures has function rows (site, function, NGI) beside the site and NGI rows',
  (t) => {
    const rows = JSON.parse(fedledger(data.dir, 'export', 'ar', ...day, '--format', 'json')) as Row[];
    const figures = (level: string) =>
      rows
        .filter((r) => r.level === level)
        .map((r) => [r.site, r.function, r.group, r.availability, r.reliability])
        .sort((a, b) => String(a).localeCompare(String(b)));
    t.deepEqual(figures('function'), [
      ['CLOUD-NORTH', 'accounting', 'NGI_NORTH', 75, 75],
      ['CLOUD-NORTH', 'cloud', 'NGI_NORTH', 100, 100],
      ['CLOUD-SOUTH', 'cloud', 'NGI_SOUTH', 75, 75],
    ]);
    t.deepEqual(figures('site'), [
      ['CLOUD-NORTH', null, 'NGI_NORTH', 75, 75],
      ['CLOUD-SOUTH', null, 'NGI_SOUTH', 75, 75],
    ]);
    t.deepEqual(
      rows.filter((r) => r.level === 'group').map((r) => [r.site, r.function, r.group]),
      [
        [null, null, 'NGI_NORTH'],
        [null, null, 'NGI_SOUTH'],
      ],
    );
    const csv = fedledger(data.dir, 'export', 'ar', ...day, '--format', 'csv').split('\n');
    t.is(
      csv[0],
      'date,level,site,function,service,hostname,group,availabilityPercent,reliabilityPercent,upFraction,unknownFraction,downFraction',
    );
    t.true(csv.includes('2026-01-12,function,CLOUD-NORTH,accounting,,,NGI_NORTH,75,75,0.75,0,0'));
  },
);

test.serial(
  'export ar --site keeps one site with its function, service and endpoint rows, and no group of sites',
  (t) => {
    const rows = JSON.parse(fedledger(data.dir, 'export', 'ar', ...day, '--site', 'CLOUD-NORTH')) as Row[];
    t.true(rows.every((r) => r.site === 'CLOUD-NORTH'));
    t.deepEqual(
      rows.map((r) => [r.level, r.function ?? r.service, r.hostname]).sort(),
      [
        ['endpoint', 'eu.egi.cloud.accounting', 'apel.cloud-north.example.org'],
        ['endpoint', 'org.openstack.nova', 'keystone.cloud-north.example.org'],
        ['endpoint', 'org.openstack.nova', 'keystone2.cloud-north.example.org'],
        ['function', 'accounting', null],
        ['function', 'cloud', null],
        ['service', 'eu.egi.cloud.accounting', null],
        ['service', 'org.openstack.nova', null],
        ['site', null, null],
      ].sort(),
    );
  },
);

test.serial('export ar --site with a site nobody registered is a user error naming it', (t) => {
  const done = run(data.dir, ['export', 'ar', ...day, '--site', 'CLOUD-NOWHERE']);
  t.is(done.code, 1);
  t.regex(done.stderr, /no site named CLOUD-NOWHERE .*\[UNKNOWN_SITE\]/);
});
