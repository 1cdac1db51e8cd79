/**
 * The profiles in force when none has been ingested: egi_ops operations and
 * a FedCloud aggregation and metric profile, shipped as fixtures and read
 * through the same parser as ingested ones.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseProfiles } from '../ingest/profiles.ts';
import type { ParsedProfile } from '../ingest/profiles.ts';
import { packagePath } from '../package-files.ts';

const DIR = packagePath('fixtures', 'availability', 'profiles');
const FILES = ['operations-egi_ops.json', 'aggregation-fedcloud.json', 'metric-fedcloud.json'];

let loaded: ParsedProfile[] | undefined;

export function defaultProfiles(): ParsedProfile[] {
  loaded ??= FILES.flatMap((f) => parseProfiles(readFileSync(path.join(DIR, f), 'utf8'), f));
  return loaded;
}
