import test from 'ava';
import { spawnSync } from 'node:child_process';
import { TokenStore } from '../../src/api/tokens.ts';
import { tempDir } from '../support/tmp.ts';

const fedledger = (...args: string[]) => {
  const run = spawnSync(process.execPath, ['bin/fedledger.js', ...args], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
};

test('fedledger token create prints a token once, stores only its hash; list and revoke', (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const created = fedledger('--data-dir', dir, 'token', 'create', '--role', 'site', '--site', 'CESNET-MCC');
  t.is(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  t.regex(token, /^flt_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  // A serving process that has already seen the token must see its revocation by another process at once.
  const serving = new TokenStore(dir);
  t.teardown(() => serving.close());
  t.deepEqual(serving.verify(token), { tokenId: token.slice(4, 16), role: 'site', scope: 'CESNET-MCC' });
  t.deepEqual(serving.verify(token), { tokenId: token.slice(4, 16), role: 'site', scope: 'CESNET-MCC' });
  const listed = fedledger('--data-dir', dir, 'token', 'list');
  t.regex(listed.stdout, new RegExp(`^${token.slice(4, 16)}\tsite\tCESNET-MCC\t.*\tlive`, 'm'));
  t.false(listed.stdout.includes(token.slice(17)), 'the secret is never listed');
  t.is(fedledger('--data-dir', dir, 'token', 'revoke', token.slice(4, 16)).code, 0);
  t.is(serving.verify(token), undefined);
  const missingScope = fedledger('--data-dir', dir, 'token', 'create', '--role', 'site');
  t.is(missingScope.code, 1);
  t.regex(missingScope.stderr, /needs --site \[TOKEN_SCOPE_REQUIRED\]/);
  t.is(fedledger('--data-dir', dir, 'token', 'create', '--role', 'root').code, 1);
});
