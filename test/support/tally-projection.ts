/**
 * A minimal projection for testing the runner: counts events and sums a
 * number per stream, and keeps every applied event id so a double count
 * would show.
 */
import type { Projection } from '../../src/projection/projection.ts';

export function tallyProjection(version = 1, onEvent?: () => void): Projection {
  return {
    name: 'tally',
    version,
    eventTypes: ['VmStateChanged'],
    setup(db) {
      db.exec(`
        CREATE TABLE tally (stream TEXT PRIMARY KEY, events INTEGER NOT NULL, version INTEGER NOT NULL);
        CREATE TABLE seen (event_id TEXT PRIMARY KEY, position INTEGER NOT NULL);
      `);
    },
    open(db) {
      const bump = db.prepare(
        'INSERT INTO tally (stream, events, version) VALUES (?, 1, ?) ON CONFLICT (stream) DO UPDATE SET events = events + 1',
      );
      const see = db.prepare('INSERT INTO seen (event_id, position) VALUES (?, ?)');
      return {
        apply(batch, ctx) {
          for (const applied of batch) {
            bump.run(applied.stream, version);
            see.run(applied.id, applied.position);
            ctx.changed(`stream:${applied.stream}`);
            onEvent?.();
          }
        },
      };
    },
  };
}
