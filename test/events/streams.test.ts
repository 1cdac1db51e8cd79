import test from 'ava';
import { streams } from '../../src/events/catalogue.ts';

test("a VM's stream names its site and VMUUID, and no two (site, VMUUID) pairs share one", (t) => {
  t.is(streams.vm('CESNET-MCC', '3c9e1f0a'), 'vm-CESNET-MCC/3c9e1f0a');
  t.not(streams.vm('CESNET-MCC', '3c9e1f0a'), streams.vm('IFCA-LCG2', '3c9e1f0a'));
  // The site ends at the first `/`: a `/` or `%` inside a site name is escaped.
  const names = [streams.vm('A/B', 'c'), streams.vm('A', 'B/c'), streams.vm('A%2FB', 'c'), streams.vm('A%', '2FB/c')];
  t.deepEqual(names, ['vm-A%2FB/c', 'vm-A/B/c', 'vm-A%252FB/c', 'vm-A%25/2FB/c']);
  t.is(new Set(names).size, names.length);
});
