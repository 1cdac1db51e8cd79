/**
 * An ARGO Messaging Service stand-in on nock, answering as AMS's API
 * documentation shows: `:pull` returns `receivedMessages` with ack ids
 * `projects/{p}/subscriptions/{s}:{offset}` and base64 data, `:acknowledge`
 * moves the subscription's offset past the highest ack id (`{}`), and
 * `:publish` answers `messageIds`. Messages not acknowledged are delivered
 * again by the next pull, as AMS does once the ack deadline passes.
 * Requests without the right token (`x-api-key`, or `?key=`) get AMS's 401 body.
 */
import nock from './nock.ts';

export const AMS_URL = 'https://msg.ams.example.org';
export const AMS_TOKEN = 'test-ams-token';

interface Stored {
  data: string;
  attributes: Record<string, string>;
}

export interface FakeAms {
  /** Adds a message to the subscription, as a publisher's `:publish` would. */
  enqueue(project: string, subscription: string, data: string, attributes?: Record<string, string>): void;
  /** The subscription's acknowledged offset (messages before it are done). */
  offset(project: string, subscription: string): number;
  /** Messages published to a topic, data decoded. */
  published(project: string, topic: string): Array<{ data: string; attributes: Record<string, string> }>;
  pulls: number;
  done(): void;
}

const unauthorized = [401, { error: { code: 401, message: 'Unauthorized', status: 'UNAUTHORIZED' } }] as const;

export function fakeAms(): FakeAms {
  const queues = new Map<string, { messages: Stored[]; offset: number }>();
  const topics = new Map<string, Stored[]>();
  const queue = (p: string, s: string) => {
    const key = `${p}/${s}`;
    let q = queues.get(key);
    if (!q) queues.set(key, (q = { messages: [], offset: 0 }));
    return q;
  };
  const fake: FakeAms = {
    pulls: 0,
    enqueue(project, subscription, data, attributes = {}) {
      queue(project, subscription).messages.push({ data: Buffer.from(data, 'utf8').toString('base64'), attributes });
    },
    offset: (project, subscription) => queue(project, subscription).offset,
    published: (project, topic) =>
      (topics.get(`${project}/${topic}`) ?? []).map((m) => ({
        data: Buffer.from(m.data, 'base64').toString('utf8'),
        attributes: m.attributes,
      })),
    done: () => nock.cleanAll(),
  };
  // AMS's `both` authentication mode: the x-api-key header or the older ?key= parameter.
  const authorized = (request: Request) =>
    (request.headers.get('x-api-key') ?? new URL(request.url).searchParams.get('key')) === AMS_TOKEN;
  type Answer = readonly [number, unknown];
  /** `POST /v1/projects/{project}/{kind}/{name}:{verb}`, authenticated, with the project, the name and the JSON body. */
  const route = (
    scope: nock.Scope,
    kind: 'subscriptions' | 'topics',
    verb: string,
    answer: (project: string, name: string, body: unknown) => Answer,
  ) =>
    scope
      .post(new RegExp(`^/v1/projects/[^/]+/${kind}/[^/]+:${verb}$`))
      .query(true)
      .reply(async (request) => {
        if (!authorized(request)) return unauthorized;
        const [, project, name] = new RegExp(`projects/([^/]+)/${kind}/([^/:]+)`).exec(new URL(request.url).pathname)!;
        return answer(project!, name!, await request.json()) as [number, nock.Body];
      });
  const scope = nock(AMS_URL).persist();
  route(scope, 'subscriptions', 'pull', (project, subscription, body) => {
    const max = Number((body as { maxMessages?: string }).maxMessages);
    if (!Number.isInteger(max) || max < 1)
      return [400, { error: { code: 400, message: 'Invalid pull parameters', status: 'INVALID_ARGUMENT' } }];
    fake.pulls += 1;
    const q = queue(project, subscription);
    const receivedMessages = q.messages.slice(q.offset, q.offset + max).map((m, i) => ({
      ackId: `projects/${project}/subscriptions/${subscription}:${q.offset + i}`,
      message: {
        attributes: m.attributes,
        data: m.data,
        messageId: String(q.offset + i),
        publishTime: '2026-03-02T10:00:00.000000000Z',
      },
    }));
    return [200, { receivedMessages }];
  });
  route(scope, 'subscriptions', 'acknowledge', (project, subscription, body) => {
    const ids = (body as { ackIds?: unknown }).ackIds;
    const prefix = `projects/${project}/subscriptions/${subscription}:`;
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || !id.startsWith(prefix)))
      return [400, { error: { code: 400, message: 'Invalid ack id', status: 'INVALID_ARGUMENT' } }];
    const q = queue(project, subscription);
    q.offset = Math.max(q.offset, ...ids.map((id: string) => Number(id.slice(prefix.length)) + 1));
    return [200, {}];
  });
  route(scope, 'topics', 'publish', (project, topic, body) => {
    const messages = (body as { messages?: Stored[] }).messages ?? [];
    const list = topics.get(`${project}/${topic}`) ?? [];
    topics.set(`${project}/${topic}`, list);
    const first = list.length;
    list.push(...messages.map((m) => ({ data: m.data, attributes: m.attributes ?? {} })));
    return [200, { messageIds: messages.map((_, i) => String(first + i)) }];
  });
  return fake;
}
