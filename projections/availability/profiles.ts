/**
 * The profiles in force on a day: those published to the read model, over
 * the ones shipped with fedledger (egi_ops operations, a FedCloud aggregation
 * and metric profile, read from fixtures through the same parser as ingested
 * ones) that hold when none has been published.
 */
import type Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { dayName } from '../../src/availability/days.ts';
import { compileOperations, type ProfileSet } from '../../src/availability/profiles.ts';
import { parseProfileObject, parseProfiles, type ParsedProfile } from '../../src/ingest/profiles.ts';
import { packagePath } from '../../src/package-files.ts';

const DIR = packagePath('fixtures', 'availability', 'profiles');
const FILES = ['operations-egi_ops.json', 'aggregation-fedcloud.json', 'metric-fedcloud.json'];

let loaded: ParsedProfile[] | undefined;

export function defaultProfiles(): ParsedProfile[] {
  loaded ??= FILES.flatMap((f) => parseProfiles(readFileSync(path.join(DIR, f), 'utf8'), f));
  return loaded;
}

/** A profile the read model holds, with the log position of the event that published it (-1: a default). */
export interface StoredProfile {
  parsed: ParsedProfile;
  position: number;
}

/**
 * Picks the profiles in force on a day: per kind the latest effective one; the metric profile the aggregation names, if
 * present. Null before every profile of some kind takes effect: nothing is expected on such a day.
 */
export function profilesForDay(stored: readonly StoredProfile[], day: string): ProfileSet | null {
  const candidates = [...defaultProfiles().map((parsed) => ({ parsed, position: -1 })), ...stored].filter(
    (p) => p.parsed.profile.date <= day,
  );
  const latest = <K extends ParsedProfile['kind']>(kind: K, name?: string) => {
    let best: StoredProfile | undefined;
    for (const p of candidates) {
      if (p.parsed.kind !== kind || (name !== undefined && p.parsed.profile.name !== name)) continue;
      if (
        !best ||
        p.parsed.profile.date > best.parsed.profile.date ||
        (p.parsed.profile.date === best.parsed.profile.date && p.position > best.position)
      )
        best = p;
    }
    return best?.parsed as Extract<ParsedProfile, { kind: K }> | undefined;
  };
  const aggregation = latest('aggregation')?.profile;
  const operations = latest('operations')?.profile;
  const metrics =
    (aggregation?.metricProfile ? latest('metric', aggregation.metricProfile) : undefined) ?? latest('metric');
  if (!aggregation || !operations || !metrics) return null;
  return { operations: compileOperations(operations), aggregation, metrics: metrics.profile };
}

/** The profiles the read model holds, in the order they were published. */
export function storedProfiles(db: Database.Database): StoredProfile[] {
  return (
    db.prepare('SELECT name, position, body FROM profiles ORDER BY position').all() as Array<{
      name: string;
      position: number;
      body: string;
    }>
  ).map((r) => ({ parsed: parseProfileObject(JSON.parse(r.body), `profile ${r.name}`), position: r.position }));
}

/** The profiles stored in the read model, resolved per day number (cached per resolver). */
export function profileResolver(db: Database.Database): (day: number) => ProfileSet | null {
  const stored = storedProfiles(db);
  const cache = new Map<number, ProfileSet | null>();
  return (day) => {
    let set = cache.get(day);
    if (set === undefined) cache.set(day, (set = profilesForDay(stored, dayName(day))));
    return set;
  };
}
