/**
 * GOCDB programmatic-interface XML: `get_site_list`, `get_service_endpoint`
 * (alias `get_service`) and `get_downtime`, recognised by their elements.
 * Pure: a document becomes SiteRegistered, ServiceEndpointRegistered and
 * DowntimeDeclared event data, or errors naming the element and field.
 */
import { XMLParser } from 'fast-xml-parser';
import type { EventData, RecordError } from '../events/catalogue.ts';
import { UserError } from '../errors.ts';

export type GocdbKind = 'sites' | 'service-endpoints' | 'downtimes';

export interface GocdbElementError {
  /** 1-based index of the element within the document. */
  index: number;
  text: string;
  errors: RecordError[];
}

export interface GocdbDocument {
  kind: GocdbKind;
  sites: Array<EventData<'SiteRegistered'>>;
  endpoints: Array<EventData<'ServiceEndpointRegistered'>>;
  downtimes: Array<EventData<'DowntimeDeclared'>>;
  rejected: GocdbElementError[];
}

const ELEMENTS: Record<string, GocdbKind> = {
  SITE: 'sites',
  SERVICE_ENDPOINT: 'service-endpoints',
  DOWNTIME: 'downtimes',
};
const LISTS = new Set(['SITE', 'SERVICE_ENDPOINT', 'DOWNTIME', 'SCOPE', 'ENDPOINT']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => LISTS.has(name),
});

type Element = Record<string, unknown>;

class ElementReader {
  readonly errors: RecordError[] = [];
  constructor(
    private readonly element: Element,
    private readonly source: string,
    private readonly index: number,
    private readonly tag: string,
  ) {}

  /** A child element's text, or the same-named attribute (get_site_list is attribute-only). */
  optional(field: string): string | null {
    const v = this.element[field] ?? this.element[`@${field}`];
    if (typeof v === 'string') return v.trim() === '' ? null : v.trim();
    return null;
  }

  required(field: string): string {
    const v = this.optional(field);
    if (v === null) this.fail(field, 'missing or empty');
    return v ?? '';
  }

  epoch(field: string): string {
    const v = this.required(field);
    if (v === '') return '';
    if (!/^\d+$/.test(v)) {
      this.fail(field, 'must be epoch seconds');
      return '';
    }
    return new Date(Number(v) * 1000).toISOString().replace('.000Z', 'Z');
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T {
    const v = this.required(field);
    if (v !== '' && !allowed.includes(v as T)) this.fail(field, `must be one of ${allowed.join(', ')}`);
    return v as T;
  }

  flag(field: string): boolean {
    return this.optional(field) === 'Y';
  }

  fail(field: string, reason: string): void {
    this.errors.push({
      code: 'INVALID_GOCDB_ELEMENT',
      message: `${this.source} ${this.tag} #${this.index} field ${field}: ${reason}`,
      record: this.index,
      line: null,
      field,
      reason,
    });
  }
}

function list(value: unknown): Element[] {
  return Array.isArray(value) ? (value.filter((v) => v && typeof v === 'object') as Element[]) : [];
}

/** Reads one GOCDB document; throws a UserError if it is not one of the three. */
export function parseGocdb(xml: string, source: string): GocdbDocument {
  let root: Element;
  try {
    root = parser.parse(xml, true) as Element;
  } catch (e) {
    throw new UserError('INVALID_GOCDB_XML', `${source}: not well-formed XML: ${(e as Error).message}`, {
      message: source,
    });
  }
  const results = root['results'];
  if (!results || typeof results !== 'object')
    throw new UserError(
      'INVALID_GOCDB_XML',
      `${source}: no <results> root: not a GOCDB programmatic-interface document`,
      { message: source },
    );
  const present = Object.keys(ELEMENTS).filter((tag) => list((results as Element)[tag]).length > 0);
  if (present.length > 1)
    throw new UserError('INVALID_GOCDB_XML', `${source}: mixes ${present.join(' and ')} elements`, { message: source });
  const tag = present[0];
  const doc: GocdbDocument = {
    kind: tag ? ELEMENTS[tag]! : 'sites',
    sites: [],
    endpoints: [],
    downtimes: [],
    rejected: [],
  };
  if (!tag) return doc;
  const elements = list((results as Element)[tag]);
  const downtimes = new Map<string, EventData<'DowntimeDeclared'>>();
  elements.forEach((element, i) => {
    const r = new ElementReader(element, source, i + 1, tag);
    if (tag === 'SITE') {
      const site: EventData<'SiteRegistered'> = {
        siteName: r.required('NAME'),
        primaryKey: r.optional('PRIMARY_KEY'),
        country: r.optional('COUNTRY'),
        ngi: r.optional('ROC'),
        certificationStatus: r.optional('CERTIFICATION_STATUS'),
        productionInfrastructure: r.optional('PRODUCTION_INFRASTRUCTURE'),
      };
      if (!r.errors.length) doc.sites.push(site);
    } else if (tag === 'SERVICE_ENDPOINT') {
      const endpointUrls = list((element['ENDPOINTS'] as Element | undefined)?.['ENDPOINT']).map((e) =>
        typeof e['URL'] === 'string' && e['URL'].trim() ? e['URL'].trim() : null,
      );
      const scopes = (element['SCOPES'] as Element | undefined)?.['SCOPE'];
      const endpoint: EventData<'ServiceEndpointRegistered'> = {
        siteName: r.required('SITENAME'),
        hostname: r.required('HOSTNAME'),
        service: r.required('SERVICE_TYPE'),
        url: r.optional('URL') ?? endpointUrls.find((u) => u !== null) ?? null,
        primaryKey: r.optional('PRIMARY_KEY'),
        inProduction: r.flag('IN_PRODUCTION'),
        monitored: r.flag('NODE_MONITORED'),
        scopes: Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string' && s !== '') : [],
        ngi: r.optional('ROC_NAME'),
        country: r.optional('COUNTRY_NAME'),
      };
      if (!r.errors.length) doc.endpoints.push(endpoint);
    } else {
      const downtimeId = r.optional('PRIMARY_KEY') ?? r.required('ID');
      const classification = r.oneOf('CLASSIFICATION', ['SCHEDULED', 'UNSCHEDULED'] as const);
      const severity = r.oneOf('SEVERITY', ['OUTAGE', 'WARNING'] as const);
      const start = r.epoch('START_DATE');
      const end = r.epoch('END_DATE');
      const insert = r.optional('INSERT_DATE');
      const hostname = r.required('HOSTNAME');
      const service = r.required('SERVICE_TYPE');
      if (start && end && end < start) r.fail('END_DATE', 'is before START_DATE');
      if (insert !== null && !/^\d+$/.test(insert)) r.fail('INSERT_DATE', 'must be epoch seconds');
      if (!r.errors.length) {
        // A downtime affecting several services is listed once per service with the same key.
        const known = downtimes.get(downtimeId);
        if (known) known.endpoints.push({ hostname, service });
        else
          downtimes.set(downtimeId, {
            downtimeId,
            siteName: r.optional('HOSTED_BY'),
            classification,
            severity,
            start,
            end,
            declaredAt: insert === null ? null : new Date(Number(insert) * 1000).toISOString().replace('.000Z', 'Z'),
            description: r.optional('DESCRIPTION') ?? '',
            endpoints: [{ hostname, service }],
          });
      }
    }
    if (r.errors.length) doc.rejected.push({ index: i + 1, text: JSON.stringify(element), errors: r.errors });
  });
  doc.downtimes = [...downtimes.values()];
  for (const d of doc.downtimes) d.endpoints.sort((a, b) => (a.hostname + a.service < b.hostname + b.service ? -1 : 1));
  return doc;
}
