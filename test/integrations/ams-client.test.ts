import test from 'ava';
import { AmsClient, AmsError, type AmsEndpoint } from '../../src/integrations/ams/client.ts';
import { AMS_TOKEN, AMS_URL, fakeAms } from '../support/fake-ams.ts';

const endpoint = (over: Partial<AmsEndpoint> = {}): AmsEndpoint => ({
  url: AMS_URL,
  project: 'accounting',
  token: AMS_TOKEN,
  auth: 'header',
  ...over,
});
const quick = { timeoutMs: 5000, retries: 0, backoffMs: 1 };

test.serial(
  "AMS's error answer becomes an AmsError with its status, and the token is never in the message",
  async (t) => {
    const ams = fakeAms();
    try {
      const wrong = new AmsClient(endpoint({ token: 'not-the-token', auth: 'query' }), quick);
      const error = await t.throwsAsync(wrong.pull('incoming', 1), { instanceOf: AmsError });
      t.is(error!.code, 'AMS_401');
      t.regex(error!.message, /subscriptions\/incoming:pull: HTTP 401 UNAUTHORIZED Unauthorized$/);
      t.false(error!.message.includes('not-the-token'));
    } finally {
      ams.done();
    }
  },
);

test.serial('the token as ?key= (older AMS) or as the x-api-key header: the same pull, publish and ack', async (t) => {
  const ams = fakeAms();
  try {
    for (const auth of ['query', 'header'] as const) {
      const client = new AmsClient(endpoint({ auth }), quick);
      const [id] = await client.publish('t', [{ data: `hello ${auth}`, attributes: { empaid: auth } }]);
      t.truthy(id);
      t.deepEqual(ams.published('accounting', 't').at(-1), { data: `hello ${auth}`, attributes: { empaid: auth } });
    }
    ams.enqueue('accounting', 'incoming', 'one');
    ams.enqueue('accounting', 'incoming', 'two');
    const client = new AmsClient(endpoint({ auth: 'query' }), quick);
    const pulled = await client.pull('incoming', 10);
    t.deepEqual(
      pulled.map((m) => [m.messageId, m.data.toString('utf8')]),
      [
        ['0', 'one'],
        ['1', 'two'],
      ],
    );
    await client.acknowledge(
      'incoming',
      pulled.map((m) => m.ackId),
    );
    t.is(ams.offset('accounting', 'incoming'), 2);
    t.deepEqual(await client.pull('incoming', 10), []);
  } finally {
    ams.done();
  }
});

test('an unreachable AMS: the error, as logs show it, does not hold a ?key= token', async (t) => {
  const client = new AmsClient(endpoint({ url: 'http://127.0.0.1:9', auth: 'query', token: 'secret-token' }), quick);
  const error = await t.throwsAsync(client.pull('incoming', 1));
  t.is((error as { code?: string }).code, 'HTTP_UNREACHABLE');
  t.false(JSON.stringify({ ...error, message: error!.message }).includes('secret-token'));
});
