import test from 'ava';
import { messageTextsForSite } from '../../src/api/quarantine-view.ts';

const header = 'APEL-cloud-message: v0.4';
const own = 'VMUUID: a\nSiteName: SITE-A\nWallDuration: x';
const row = (sourceMessageId: string, messageText: string, recordText = own) => ({
  sourceMessageId,
  recordText,
  messageText,
});

test("a site's token gets a message whole only when every record in it is the site's", (t) => {
  const ownOnly = `${header}\n${own}\n%%\nVMUUID: b\nSiteName: SITE-A\n%%\n`;
  const mixed = `${header}\nVMUUID: c\nSiteName: SITE-B\nGlobalUserName: /CN=b-user\n%%\n${own}\n%%\n`;
  const unnamed = `${header}\nVMUUID: d\nGlobalUserName: /CN=someone\n%%\n${own}\n%%\n`;
  const texts = messageTextsForSite([row('m1', ownOnly), row('m2', mixed), row('m3', unnamed)], 'SITE-A');
  t.is(texts.get('m1'), ownOnly);
  t.is(texts.get('m2'), `${header}\n${own}\n%%\n`, "another site's record is left out");
  t.is(texts.get('m3'), `${header}\n${own}\n%%\n`, 'a record without a readable SiteName counts as another site');
});

test("a mixed message shows each of the site's quarantined records once, in order", (t) => {
  const second = 'VMUUID: e\nSiteName: SITE-A\nCpuCount: many';
  const mixed = `${header}\n${own}\n%%\nVMUUID: c\nSiteName: SITE-B\n%%\n${second}\n%%\n`;
  const texts = messageTextsForSite([row('m', mixed), row('m', mixed, second)], 'SITE-A');
  t.deepEqual([...texts], [['m', `${header}\n${own}\n%%\n${second}\n%%\n`]]);
});
