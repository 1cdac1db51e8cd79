/** GraphiQL's page over plain HTTP: public, self-contained, and no way around the token for anything else. */
import test from 'ava';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
test.before(async () => {
  h = await startHarness({ seed: false });
});
test.after.always(() => h.close());

test('GET /graphql from a browser serves GraphiQL without a token, with every asset inline', async (t) => {
  const response = await fetch(`${h.url}/graphql`, { headers: { accept: 'text/html' } });
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^text\/html/);
  const page = await response.text();
  t.regex(page, /<title>fedledger GraphiQL<\/title>/);
  t.regex(page, /YogaGraphiQL\.renderYogaGraphiQL/);
  t.true(page.includes(JSON.stringify(JSON.stringify({ Authorization: 'Bearer <token>' }, null, 2))));
  t.deepEqual(page.match(/\b(?:src|href)\s*=\s*["']?(?:https?:)?\/\/[^\s"'>]+/g) ?? [], [], 'no asset from elsewhere');
});

test('the page is the only thing served without a token', async (t) => {
  const json = await fetch(`${h.url}/graphql`, { headers: { accept: 'application/json' } });
  t.is(json.status, 401);
  const query = await fetch(`${h.url}/graphql?query=${encodeURIComponent('{ me { role } }')}`, {
    headers: { accept: 'text/html' },
  });
  t.is(query.status, 401);
  const other = await fetch(`${h.url}/graphql/other`, { headers: { accept: 'text/html' } });
  t.is(other.status, 401);
});
