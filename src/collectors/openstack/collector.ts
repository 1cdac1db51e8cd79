/**
 * The OpenStack collector: Keystone for tokens and projects, Nova for servers,
 * flavors and instance actions, Glance for images, Neutron for floating IPs.
 * Each project is collected on its own; one failing never loses the others.
 */
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { FedledgerError } from '../../errors.ts';
import type { CloudUsageRecord } from '../../events/catalogue.ts';
import type { OpenStackSource } from '../config.ts';
import { expectOk, httpRequest, jsonBody } from '../http.ts';
import type { Secret } from '../secrets.ts';
import {
  accountingNow,
  type CollectContext,
  type CollectionResult,
  type ScopeFailure,
  type StateChangeOut,
} from '../types.ts';
import { isoSeconds } from '../../instant.ts';
import { Keystone, serviceUrl, type Token } from './keystone.ts';
import {
  flavorInfo,
  flavorSchema,
  imageSchema,
  instanceActionSchema,
  marketplaceUri,
  novaUsageRecord,
  openstackEpoch,
  serverFlavor,
  serverSchema,
  stateChanges,
  type FlavorInfo,
  type GlanceImage,
  type NovaServer,
} from './records.ts';

export const CLOUD_TYPE = 'fedledger (OpenStack)';
/** Instance actions of deleted servers need ≥ 2.21. */
const ACTIONS_MICROVERSION = '2.21';

const projectSchema = z
  .object({ id: z.string(), name: z.string(), VO: z.string().optional(), 'accounting:VO': z.string().optional() })
  .loose();
type Project = z.infer<typeof projectSchema>;
type Share = { projectId: string; projectName: string; vo: string | null; runningVm: number; totalVm: number };

const floatingIpSchema = z.object({
  project_id: z.string().nullish(),
  tenant_id: z.string().nullish(),
  port_details: z.object({ device_id: z.string(), device_owner: z.string() }).nullish(),
});

function parse<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new FedledgerError(
      'OPENSTACK_BAD_PAYLOAD',
      `${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
      {
        message: where,
        field: issue.path.join('.'),
      },
    );
  }
  return result.data;
}

/** The VO of a project: its `VO` or `accounting:VO` property (cASO's code and docs disagree; accept both). */
export function projectVo(project: Project, fallback: string | null): string | null {
  return project.VO ?? project['accounting:VO'] ?? fallback;
}

export class OpenStackCollector {
  private readonly keystone: Keystone;
  private flavors: Map<string, FlavorInfo> | undefined;
  private images: Map<string, GlanceImage> | undefined;
  private lastToken: Token | undefined;

  constructor(
    private readonly source: OpenStackSource,
    secret: Secret,
    private readonly ctx: CollectContext,
  ) {
    this.keystone = new Keystone(source, secret, ctx.policy, ctx.now);
  }

  get tokensIssued(): number {
    return this.keystone.issued;
  }

  /** Collects every project; `cursors` holds each project's last `changes-since`. */
  async collect(cursors: ReadonlyMap<string, string>): Promise<CollectionResult> {
    const runStart = this.ctx.now();
    const asOf = accountingNow(runStart);
    const failures: ScopeFailure[] = [];
    const records: CloudUsageRecord[] = [];
    const changes: StateChangeOut[] = [];
    const newCursors = new Map<string, string>();
    const shares: Share[] = [];

    const started = performance.now();
    let responseMs: number;
    let projects: Project[];
    try {
      projects = await this.discoverProjects();
      responseMs = Math.round(performance.now() - started);
    } catch (error) {
      return {
        records,
        stateChanges: changes,
        cursors: newCursors,
        snapshot: null,
        failures: [failure('(keystone)', error)],
        reachability: { status: 'CRITICAL', responseMs: null, detail: `Keystone: ${(error as Error).message}` },
      };
    }

    let done = 0;
    for (const project of projects) {
      this.ctx.progress?.(done, projects.length, project.name);
      try {
        const out = await this.collectProject(project, cursors.get(project.id) ?? null, asOf);
        records.push(...out.records);
        changes.push(...out.changes);
        newCursors.set(project.id, out.cursor);
        shares.push({
          projectId: project.id,
          projectName: project.name,
          vo: projectVo(project, this.source.defaultVo),
          runningVm: out.running,
          totalVm: out.total,
        });
      } catch (error) {
        failures.push(failure(project.id, error));
      }
      this.ctx.progress?.(++done, projects.length, project.name);
    }

    const collected = projects.length - failures.length;
    const status = collected === 0 && projects.length > 0 ? 'CRITICAL' : failures.length > 0 ? 'WARNING' : 'OK';
    return {
      records,
      stateChanges: changes,
      cursors: newCursors,
      failures,
      snapshot: collected === 0 ? null : this.snapshot(shares),
      reachability: {
        status,
        responseMs,
        detail: `Keystone answered in ${responseMs} ms; ${collected}/${projects.length} projects collected${failures.length ? ` (failed: ${failures.map((f) => `${f.scope} ${f.code}`).join(', ')})` : ''}`,
      },
    };
  }

  private snapshot(shares: Share[]): CollectionResult['snapshot'] {
    const catalog = this.lastToken?.catalog ?? [];
    return {
      middleware: 'openstack',
      endpoints: [
        { url: this.keystone.baseUrl, type: 'identity', interface: 'public', region: this.source.region },
        ...catalog
          .filter((e) => e.interface === 'public' && e.type !== 'identity')
          .map((e) => ({ url: e.url.replace(/\/+$/, ''), type: e.type, interface: e.interface, region: e.region })),
      ],
      images: [...(this.images?.values() ?? [])].map((i) => ({
        id: i.id,
        name: i.name ?? i.id,
        osName: i.os_distro ?? null,
        osVersion: i.os_version ?? null,
        architecture: i.architecture ?? null,
        marketplaceUrl: marketplaceUri(i),
        description: i.description ?? null,
      })),
      flavors: [...(this.flavors?.values() ?? [])],
      shares,
    };
  }

  private async get(projectId: string | null, url: string, headers: Record<string, string> = {}): Promise<unknown> {
    const response = await this.keystone.withToken(projectId, (token) =>
      httpRequest(
        url,
        { headers: { accept: 'application/json', 'x-auth-token': token.value, ...headers } },
        this.ctx.policy,
      ),
    );
    return jsonBody(url, expectOk(url, response));
  }

  private async discoverProjects(): Promise<Project[]> {
    const byId = new Map<string, Project>();
    const authScope = this.source.projects[0] ?? null;
    if (this.source.projectTag !== null) {
      const url = `${this.keystone.baseUrl}/projects?tags=${encodeURIComponent(this.source.projectTag)}`;
      const body = parse(z.object({ projects: z.array(projectSchema) }), await this.get(authScope, url), url);
      for (const p of body.projects) byId.set(p.id, p);
    }
    for (const id of this.source.projects) {
      if (byId.has(id)) continue;
      const url = `${this.keystone.baseUrl}/projects/${encodeURIComponent(id)}`;
      try {
        byId.set(id, parse(z.object({ project: projectSchema }), await this.get(id, url), url).project);
      } catch (error) {
        // Reading its own project may be denied by policy: account it anyway, under the default VO.
        if ((error as { code?: string }).code !== 'HTTP_403') throw error;
        byId.set(id, { id, name: id });
      }
    }
    return [...byId.values()];
  }

  private async endpoints(projectId: string) {
    const token = await this.keystone.token(projectId);
    this.lastToken = token;
    const { interface: iface, region } = this.source;
    const compute = serviceUrl(token, ['compute'], iface, region);
    if (!compute)
      throw new FedledgerError('OPENSTACK_NO_COMPUTE', `project ${projectId}: no compute endpoint in the catalog`, {
        field: 'catalog',
      });
    // An application credential's token is bound to one project; other projects are read with admin filters.
    const crossProject = token.projectId !== null && token.projectId !== projectId;
    return {
      compute,
      network: serviceUrl(token, ['network'], iface, region),
      image: serviceUrl(token, ['image'], iface, region),
      crossProject,
    };
  }

  private async collectProject(project: Project, cursor: string | null, asOf: number) {
    const ep = await this.endpoints(project.id);
    const flavors = await this.loadFlavors(project.id, ep.compute);
    const images = ep.image ? await this.loadImages(project.id, ep.image) : new Map<string, GlanceImage>();
    const scopeQuery = ep.crossProject ? `&all_tenants=1&project_id=${encodeURIComponent(project.id)}` : '';

    const current = await this.listServers(
      project.id,
      `${ep.compute}/servers/detail?limit=${this.source.pageSize}${scopeQuery}`,
    );
    // Deleted servers are only listed with changes-since.
    const changed = cursor
      ? await this.listServers(
          project.id,
          `${ep.compute}/servers/detail?limit=${this.source.pageSize}${scopeQuery}&changes-since=${encodeURIComponent(cursor)}`,
        )
      : [];
    const servers = new Map<string, NovaServer>();
    for (const s of [...current, ...changed]) {
      const known = servers.get(s.id);
      if (!known || openstackEpoch(s.updated) >= openstackEpoch(known.updated)) servers.set(s.id, s);
    }

    const floating = ep.network ? await this.floatingIps(project.id, ep.network) : null;
    const vo = projectVo(project, this.source.defaultVo);
    const records: CloudUsageRecord[] = [];
    const changes: StateChangeOut[] = [];
    const cursorEpoch = cursor ? openstackEpoch(cursor) : null;
    let newest = cursorEpoch ?? 0;
    let running = 0;
    for (const server of servers.values()) {
      const updated = openstackEpoch(server.updated);
      newest = Math.max(newest, updated);
      let flavor = serverFlavor(server, flavors);
      if (!flavor && server.flavor.id) flavor = await this.flavorById(project.id, ep.compute, server.flavor.id);
      const image = server.image ? (images.get(server.image.id) ?? null) : null;
      const record = novaUsageRecord(server, {
        siteName: this.source.site,
        cloudType: CLOUD_TYPE,
        cloudComputeService: this.source.cloudComputeService,
        vo,
        flavor,
        image,
        floatingIps: floating ? (floating.get(server.id) ?? 0) : null,
        asOf,
      });
      records.push(record);
      if (record.status === 'started') running++;
      // Servers untouched since the cursor have no new actions.
      if (cursorEpoch === null || updated >= cursorEpoch)
        changes.push(...(await this.actions(project.id, ep.compute, server)));
    }
    return { records, changes, cursor: isoSeconds(newest), running, total: servers.size };
  }

  private async listServers(projectId: string, firstUrl: string): Promise<NovaServer[]> {
    const all: NovaServer[] = [];
    let url: string | null = firstUrl;
    while (url) {
      const page: { servers: unknown[]; servers_links?: Array<{ rel: string; href: string }> | undefined } = parse(
        z.object({
          servers: z.array(z.unknown()),
          servers_links: z.array(z.object({ rel: z.string(), href: z.string() })).optional(),
        }),
        await this.get(projectId, url),
        url,
      );
      const servers: NovaServer[] = page.servers.map((s, i) => parse(serverSchema, s, `${url} servers[${i}]`));
      all.push(...servers);
      // Nova adds a next link only when the page is full; page with our own URL and the marker, not its host name.
      const hasNext: boolean = page.servers_links?.some((l) => l.rel === 'next') ?? false;
      const last: NovaServer | undefined = servers.at(-1);
      url = hasNext && last ? `${firstUrl.replace(/&marker=[^&]*/, '')}&marker=${encodeURIComponent(last.id)}` : null;
    }
    return all;
  }

  private async loadFlavors(projectId: string, compute: string): Promise<Map<string, FlavorInfo>> {
    if (this.flavors) return this.flavors;
    const url = `${compute}/flavors/detail?is_public=None`;
    const body = parse(z.object({ flavors: z.array(flavorSchema) }), await this.get(projectId, url), url);
    const flavors = new Map<string, FlavorInfo>();
    for (const f of body.flavors) flavors.set(f.id, flavorInfo(f, await this.extraSpecs(projectId, compute, f.id)));
    this.flavors = flavors;
    return flavors;
  }

  private async extraSpecs(projectId: string, compute: string, flavorId: string): Promise<Record<string, string>> {
    const url = `${compute}/flavors/${encodeURIComponent(flavorId)}/os-extra_specs`;
    return parse(z.object({ extra_specs: z.record(z.string(), z.string()) }), await this.get(projectId, url), url)
      .extra_specs;
  }

  /** A flavor missing from the list (deleted, or private to another project). */
  private async flavorById(projectId: string, compute: string, flavorId: string): Promise<FlavorInfo | null> {
    const url = `${compute}/flavors/${encodeURIComponent(flavorId)}`;
    try {
      const flavor = parse(z.object({ flavor: flavorSchema }), await this.get(projectId, url), url).flavor;
      const info = flavorInfo(flavor, await this.extraSpecs(projectId, compute, flavorId));
      this.flavors!.set(flavorId, info);
      return info;
    } catch (error) {
      if ((error as { code?: string }).code === 'HTTP_404') return null;
      throw error;
    }
  }

  private async loadImages(projectId: string, base: string): Promise<Map<string, GlanceImage>> {
    if (this.images) return this.images;
    const images = new Map<string, GlanceImage>();
    const root = base.replace(/\/v2$/, '');
    let url: string | null = `${root}/v2/images?limit=${this.source.pageSize}`;
    while (url) {
      const page: { images: GlanceImage[]; next?: string | undefined } = parse(
        z.object({ images: z.array(imageSchema), next: z.string().optional() }),
        await this.get(projectId, url),
        url,
      );
      for (const image of page.images) images.set(image.id, image);
      url = page.next ? `${root}${page.next}` : null;
    }
    this.images = images;
    return images;
  }

  /** Floating IPs of this project per server (Neutron may list other projects' to an admin: filter again). */
  private async floatingIps(projectId: string, network: string): Promise<Map<string, number>> {
    const url = `${network}/v2.0/floatingips?project_id=${encodeURIComponent(projectId)}`;
    const body = parse(z.object({ floatingips: z.array(floatingIpSchema) }), await this.get(projectId, url), url);
    const counts = new Map<string, number>();
    for (const fip of body.floatingips) {
      if ((fip.project_id ?? fip.tenant_id) !== projectId) continue;
      const port = fip.port_details;
      if (!port || !port.device_owner.startsWith('compute:')) continue;
      counts.set(port.device_id, (counts.get(port.device_id) ?? 0) + 1);
    }
    return counts;
  }

  private async actions(projectId: string, compute: string, server: NovaServer): Promise<StateChangeOut[]> {
    const url = `${compute}/servers/${encodeURIComponent(server.id)}/os-instance-actions`;
    const body = parse(
      z.object({ instanceActions: z.array(instanceActionSchema) }),
      await this.get(projectId, url, {
        'openstack-api-version': `compute ${ACTIONS_MICROVERSION}`,
        'x-openstack-nova-api-version': ACTIONS_MICROVERSION,
      }),
      url,
    );
    return stateChanges(server.id, body.instanceActions).map((c) => ({
      requestId: c.requestId,
      data: {
        vmUuid: c.vmUuid,
        siteName: this.source.site,
        state: c.state,
        previousState: c.previousState,
        at: isoSeconds(c.at),
        source: `openstack:${this.source.name}:${c.action}`,
      },
    }));
  }
}

function failure(scope: string, error: unknown): ScopeFailure {
  const code = (error as { code?: string }).code ?? 'COLLECT_FAILED';
  return { scope, code, message: (error as Error).message };
}
