/**
 * API tokens: random secrets shown once, stored only as their SHA-256 (a
 * 256-bit random secret needs no slow hash: there is nothing to brute-force),
 * each bound to a role and a scope, in `tokens.sqlite` in the data directory.
 * Revocation is seen at once by every process sharing the file: live tokens
 * are remembered in memory only until the file changes (SQLite's data_version).
 */
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.ts';
import { type Role, TOKENS_FILE } from './token-roles.ts';
import { isoInstant } from '../instant.ts';

export { ROLES, type Role, TOKENS_FILE } from './token-roles.ts';

export interface Principal {
  tokenId: string;
  role: Role;
  /** The site (site, ingest) or VO (community); null for staff, dashboard and monitoring ingest. */
  scope: string | null;
}

export interface TokenInfo extends Principal {
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

/** Which roles need a scope, and what kind (an ingest token for the monitoring system has none). */
export const SCOPE_KIND: Record<Role, 'site' | 'vo' | null> = {
  staff: null,
  site: 'site',
  community: 'vo',
  dashboard: null,
  ingest: 'site',
};

const PREFIX = 'flt_';

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
/** Live tokens remembered between changes of the file; past this the memory starts over. */
const REMEMBERED_LIMIT = 10_000;

export class TokenStore {
  private readonly db: Database.Database;
  private readonly byHash;
  private readonly dataVersion;
  /** Live tokens by hash, valid while the file's data_version is `rememberedAt`. */
  private readonly remembered = new Map<string, Principal>();
  private rememberedAt = -1;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(path.join(dataDir, TOKENS_FILE));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS tokens (
      id TEXT PRIMARY KEY,
      hash TEXT NOT NULL UNIQUE,
      role TEXT NOT NULL,
      scope TEXT,
      label TEXT,
      created_at TEXT NOT NULL,
      revoked_at TEXT
    )`);
    this.byHash = this.db.prepare('SELECT id, role, scope FROM tokens WHERE hash = ? AND revoked_at IS NULL');
    this.dataVersion = this.db.prepare('PRAGMA data_version').pluck();
  }

  /** Creates a token and returns its secret: the only time it is ever available. */
  create(
    role: Role,
    scope: string | null,
    label: string | null = null,
    now = new Date(),
    monitoring = false,
  ): { token: string; info: TokenInfo } {
    const kind = monitoring && role === 'ingest' ? null : SCOPE_KIND[role];
    if (kind && !scope)
      throw new UserError('TOKEN_SCOPE_REQUIRED', `a ${role} token needs --${kind === 'vo' ? 'vo' : 'site'}`);
    if (!kind && scope) throw new UserError('TOKEN_SCOPE_UNEXPECTED', `a ${role} token has no scope`);
    const id = randomBytes(6).toString('hex');
    const token = `${PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
    const createdAt = isoInstant(now);
    this.db
      .prepare('INSERT INTO tokens (id, hash, role, scope, label, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, hashOf(token), role, scope, label, createdAt);
    return { token, info: { tokenId: id, role, scope, label, createdAt, revokedAt: null } };
  }

  /** The principal of a live token, or undefined for an unknown or revoked one. */
  verify(token: string): Principal | undefined {
    if (!token.startsWith(PREFIX)) return undefined;
    // Every API request comes here; while no token was created or revoked, a known one needs no lookup.
    const version = this.dataVersion.get() as number;
    if (version !== this.rememberedAt || this.remembered.size >= REMEMBERED_LIMIT) {
      this.remembered.clear();
      this.rememberedAt = version;
    }
    const hash = hashOf(token);
    const known = this.remembered.get(hash);
    if (known) return known;
    const row = this.byHash.get(hash) as { id: string; role: Role; scope: string | null } | undefined;
    if (!row) return undefined;
    const principal: Principal = { tokenId: row.id, role: row.role, scope: row.scope };
    this.remembered.set(hash, principal);
    return principal;
  }

  list(): TokenInfo[] {
    return (
      this.db
        .prepare('SELECT id, role, scope, label, created_at, revoked_at FROM tokens ORDER BY created_at, id')
        .all() as Array<{
        id: string;
        role: Role;
        scope: string | null;
        label: string | null;
        created_at: string;
        revoked_at: string | null;
      }>
    ).map((r) => ({
      tokenId: r.id,
      role: r.role,
      scope: r.scope,
      label: r.label,
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
    }));
  }

  revoke(tokenId: string, now = new Date()): void {
    const changed = this.db
      .prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
      .run(now.toISOString(), tokenId).changes;
    if (changed === 0) throw new UserError('TOKEN_NOT_FOUND', `no live token with id ${tokenId}`, { field: 'id' });
    // data_version moves only for other connections' writes.
    this.remembered.clear();
  }

  close(): void {
    this.db.close();
  }
}
