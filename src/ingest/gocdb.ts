/**
 * GOCDB programmatic-interface XML: `get_site_list`, `get_service_endpoint`
 * (alias `get_service`) and `get_downtime`, recognised by their elements.
 * Pure: a document becomes SiteRegistered, ServiceEndpointRegistered and
 * DowntimeDeclared event data, or errors naming the element and field.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { EventData, RecordError } from '../events/catalogue.ts';
import { UserError } from '../errors.ts';
import { isoSeconds } from '../instant.ts';

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
    return isoSeconds(Number(v));
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

/** A document that cannot be read as a whole: not well-formed XML, or not a GOCDB document. */
export class GocdbDocumentError extends UserError {
  constructor(
    code: 'INVALID_GOCDB_XML' | 'NOT_GOCDB_DOCUMENT',
    readonly source: string,
    readonly element: string | null,
    readonly line: number | null,
    readonly reason: string,
  ) {
    super(
      code,
      `${source}${line === null ? '' : ` line ${line}`}${element === null ? '' : ` in <${element}>`}: ${reason}`,
      { message: source, ...(line === null ? {} : { line }), ...(element === null ? {} : { field: element }) },
    );
  }

  /** The error as quarantine keeps it. */
  get recordError(): RecordError {
    return {
      code: this.code,
      message: this.message,
      record: null,
      line: this.line,
      field: this.element,
      reason: this.reason,
    };
  }
}

interface OpenTag {
  name: string;
  line: number;
}

/** The elements open at `offset` (outermost first), with the lines they were opened on. */
function openTagsAt(xml: string, offset: number): OpenTag[] {
  const open: OpenTag[] = [];
  let line = 1;
  let counted = 0;
  for (const m of xml.slice(0, offset).matchAll(/<(\/?)([A-Za-z_][\w:.-]*)[^<>]*?(\/?)>/g)) {
    for (; counted < m.index; counted++) if (xml.charCodeAt(counted) === 10) line++;
    if (m[1]) {
      const at = open.map((t) => t.name).lastIndexOf(m[2]!);
      if (at >= 0) open.length = at;
    } else if (!m[3]) open.push({ name: m[2]!, line });
  }
  return open;
}

/** fedledger's own account of a well-formedness error: where it is, in which element, and what is wrong. */
function notWellFormed(
  xml: string,
  source: string,
  err: { code: string; line: number; col: number },
): GocdbDocumentError {
  const lines = xml.split('\n');
  const offset = lines.slice(0, err.line - 1).reduce((n, l) => n + l.length + 1, 0) + err.col - 1;
  const open = openTagsAt(xml, offset);
  const inner = open[open.length - 1];
  const bad = (reason: string) =>
    new GocdbDocumentError('INVALID_GOCDB_XML', source, inner?.name ?? null, err.line, reason);
  if (err.code === 'InvalidTag') {
    const closing = /^<\/\s*([^\s>]+)/.exec(xml.slice(Math.max(offset - 1, 0)).replace(/^[^<]*/, ''))?.[1];
    return bad(
      closing !== undefined && inner !== undefined && closing !== inner.name
        ? `</${closing}> closes <${inner.name}>, opened on line ${inner.line}: not well-formed XML`
        : 'a malformed tag: not well-formed XML',
    );
  }
  if (err.code === 'InvalidAttr') return bad('a malformed attribute: not well-formed XML');
  if (err.code === 'InvalidXml') {
    const unclosed = openTagsAt(xml, xml.length);
    const last = unclosed[unclosed.length - 1];
    if (last)
      return new GocdbDocumentError(
        'INVALID_GOCDB_XML',
        source,
        last.name,
        last.line,
        `<${last.name}> is never closed: the document is cut short or not well-formed XML`,
      );
  }
  return bad(offset <= 0 ? 'not XML: it does not start with a tag' : 'an unexpected character: not well-formed XML');
}

/** Reads one GOCDB document; throws a GocdbDocumentError if it is not well-formed or not one of the three. */
export function parseGocdb(xml: string, source: string): GocdbDocument {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw notWellFormed(xml, source, valid.err);
  const root = parser.parse(xml) as Element;
  const results = root['results'];
  if (!results || typeof results !== 'object')
    throw new GocdbDocumentError(
      'NOT_GOCDB_DOCUMENT',
      source,
      null,
      null,
      'no <results> root: not a GOCDB programmatic-interface document',
    );
  const present = Object.keys(ELEMENTS).filter((tag) => list((results as Element)[tag]).length > 0);
  if (present.length > 1)
    throw new GocdbDocumentError(
      'NOT_GOCDB_DOCUMENT',
      source,
      'results',
      null,
      `mixes ${present.join(' and ')} elements`,
    );
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
      // Set only when present, so an endpoint without one keeps the event id it had before HOSTDN was read.
      const hostDn = r.optional('HOSTDN');
      if (hostDn !== null) endpoint.hostDn = hostDn;
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
            declaredAt: insert === null ? null : isoSeconds(Number(insert)),
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
