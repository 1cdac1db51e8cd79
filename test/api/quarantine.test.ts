import test from 'ava';
import { startHarness, type Harness } from './harness.ts';

const LIMIT = 64 * 1024;

let h: Harness;
test.before(async () => {
  h = await startHarness({ config: { maxPushBytes: LIMIT } });
});
test.after.always(async () => {
  await h?.close();
});

const push = (body: string | Buffer, token = h.token('staff')) =>
  fetch(`${h.url}/v1/apel/cloud`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
    body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]),
  });

const caughtUp = async () => {
  for (const r of h.runners.values()) await r.catchUp();
};

interface Page {
  quarantine: {
    edges: Array<{ cursor: string; node: { sourceMessageId: string; recordIndex: number | null; recordText: string } }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}
const PAGE = `query ($first: Int, $after: String) { quarantine(first: $first, after: $after) {
  edges { cursor node { sourceMessageId recordIndex recordText } } pageInfo { hasNextPage endCursor } } }`;

test.serial('a push body over maxPushBytes is answered 413 naming the limit, and nothing is stored', async (t) => {
  const head = await h.log.headPosition();
  const response = await push(
    `APEL-cloud-message: v0.4\nVMUUID: vm-x\nSiteName: SITE-A\nMachineName: ${'x'.repeat(LIMIT)}\n`,
  );
  t.is(response.status, 413);
  const body = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
  t.is(body.errors[0]!.extensions.code, 'PAYLOAD_TOO_LARGE');
  t.is(body.errors[0]!.message, `request body exceeds the limit of ${LIMIT} bytes (maxPushBytes)`);
  t.is(await h.log.headPosition(), head);
});

test.serial('the quarantine is listed by pages with a cursor; the whole message is a query of its own', async (t) => {
  const bad = (i: number) => `VMUUID: bad-${i}\nSiteName: SITE-A\nWallDuration: ${i}.5`;
  const text = `APEL-cloud-message: v0.4\n${[1, 2, 3, 4, 5].map(bad).join('\n%%\n')}\n`;
  t.like(await (await push(text)).json(), { accepted: 0, rejected: 5 });
  await caughtUp();
  const staff = h.token('staff');
  const seen: string[] = [];
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const page: Page = (await h.gql<Page>(staff, PAGE, { first: 2, ...(after ? { after } : {}) })).data!;
    pages += 1;
    t.true(page.quarantine.edges.length <= 2);
    seen.push(...page.quarantine.edges.map((e) => `${e.node.sourceMessageId}/${e.node.recordIndex}`));
    if (!page.quarantine.pageInfo.hasNextPage) break;
    after = page.quarantine.pageInfo.endCursor;
  }
  // The harness's own bad record, then the five pushed here.
  t.is(seen.length, 6);
  t.is(new Set(seen).size, 6);
  t.is(pages, 3);
  const notACursor = await h.gql(staff, PAGE, { after: 'bm90IGEgY3Vyc29y' });
  t.is(notACursor.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');

  const id = seen[5]!.split('/')[0]!;
  const MESSAGE = 'query ($id: String!) { quarantinedMessage(sourceMessageId: $id) { length text publisher } }';
  const message = await h.gql<{ quarantinedMessage: { length: number; text: string } }>(staff, MESSAGE, { id });
  t.is(message.data!.quarantinedMessage.text, text);
  t.is(message.data!.quarantinedMessage.length, text.length);
  const own = await h.gql<{ quarantinedMessage: { text: string } }>(h.token('site', 'SITE-A'), MESSAGE, { id });
  t.is(own.data!.quarantinedMessage.text, text, "a site's token gets a message that holds only its records");
  t.is((await h.gql(h.token('site', 'SITE-B'), MESSAGE, { id })).errors?.[0]?.extensions?.code, 'FORBIDDEN');
});

test.serial(
  'a pushed record with invalid UTF-8 is rejected naming its field; the other records are accepted',
  async (t) => {
    const body = Buffer.concat([
      Buffer.from('APEL-cloud-message: v0.4\nVMUUID: utf8-ok\nSiteName: SITE-A\n%%\nVMUUID: ab'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('cd\nSiteName: SITE-A\n%%\n'),
    ]);
    const result = (await (await push(body)).json()) as {
      accepted: number;
      rejected: number;
      errors: Array<{ record: number; field: string }>;
    };
    t.like(result, { accepted: 1, rejected: 1 });
    t.like(result.errors[0], { record: 2, field: 'VMUUID' });
  },
);
