/**
 * A local stand-in for a site's OpenStack (Keystone, Nova, Glance, Neutron) on 127.0.0.1, serving the committed
 * collector fixtures (fixtures/collectors/openstack) with their URLs pointed at itself. For tests whose collector runs
 * in a child process (`fedledger collect`), where nock cannot intercept: each service lives under its own path
 * (`/keystone/v3`, `/nova/v2.1`, `/glance`, `/neutron`).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/collectors/openstack');
const HOSTS: Record<string, string> = {
  'https://keystone.cloud.example.org:5000': 'keystone',
  'https://nova.cloud.example.org:8774': 'nova',
  'https://glance.cloud.example.org:9292': 'glance',
  'https://neutron.cloud.example.org:9696': 'neutron',
};

export interface FakeOpenStack {
  /** The Keystone v3 URL to configure. */
  keystoneUrl: string;
  /** The one project it has, tagged `caso` (vo.access.egi.eu). */
  projectId: string;
  /** Requests served, as `METHOD path`. */
  requests: string[];
  close(): Promise<void>;
}

export async function startFakeOpenStack(): Promise<FakeOpenStack> {
  let base = '';
  const fixture = (name: string) => {
    let text = readFileSync(path.join(FIXTURES, name), 'utf8');
    for (const [host, prefix] of Object.entries(HOSTS)) text = text.replaceAll(host, `${base}/${prefix}`);
    return text;
  };
  const project = (JSON.parse(fixture('projects-tagged.json')) as { projects: Array<{ id: string; name: string }> })
    .projects[0]!;
  const servers = ['servers-page1.json', 'servers-page2.json'].flatMap(
    (f) => (JSON.parse(fixture(f)) as { servers: Array<{ id: string; name: string }> }).servers,
  );
  const requests: string[] = [];
  const routes: Array<[RegExp, (m: RegExpMatchArray, url: URL) => [number, string, Record<string, string>?]]> = [
    [
      /^POST \/keystone\/v3\/auth\/tokens$/,
      () => {
        const token = JSON.parse(
          fixture('token.json').replaceAll('PROJECT_ID', project.id).replaceAll('PROJECT_NAME', project.name),
        ) as { token: { expires_at: string; issued_at: string } };
        // The fixture's token expired long ago; the collector would refuse it.
        token.token.issued_at = new Date().toISOString();
        token.token.expires_at = new Date(Date.now() + 3600_000).toISOString();
        return [201, JSON.stringify(token), { 'x-subject-token': 'fake-token' }];
      },
    ],
    [/^GET \/keystone\/v3\/projects$/, () => [200, fixture('projects-tagged.json')]],
    [/^GET \/keystone\/v3\/projects\/([^/]+)$/, (m) => [200, JSON.stringify({ project: { ...project, id: m[1] } })]],
    [/^GET \/nova\/v2\.1\/[^/]+\/flavors\/detail$/, () => [200, fixture('flavors-detail.json')]],
    [
      /^GET \/nova\/v2\.1\/[^/]+\/flavors\/([^/]+)\/os-extra_specs$/,
      (m) => {
        try {
          return [200, fixture(`extra-specs-${m[1]}.json`)];
        } catch {
          return [200, '{"extra_specs":{}}'];
        }
      },
    ],
    [
      /^GET \/nova\/v2\.1\/[^/]+\/servers\/detail$/,
      (_m, url) => [200, fixture(url.searchParams.has('marker') ? 'servers-page2.json' : 'servers-page1.json')],
    ],
    [
      /^GET \/nova\/v2\.1\/[^/]+\/servers\/([^/]+)\/os-instance-actions$/,
      (m) => {
        const server = servers.find((s) => s.id === m[1]);
        return server ? [200, fixture(`actions-${server.name}.json`)] : [404, '{}'];
      },
    ],
    [/^GET \/glance\/v2\/images$/, () => [200, fixture('images.json')]],
    [/^GET \/neutron\/v2\.0\/floatingips$/, () => [200, fixture('floatingips.json')]],
  ];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url!, base);
      const key = `${req.method} ${url.pathname}`;
      requests.push(key);
      for (const [pattern, answer] of routes) {
        const m = key.match(pattern);
        if (!m) continue;
        const [status, body, headers = {}] = answer(m, url);
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    keystoneUrl: `${base}/keystone/v3`,
    projectId: project.id,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
