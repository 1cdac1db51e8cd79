/**
 * What a token can be (its roles) and the file tokens are kept in: what the CLI's `token` command offers in its
 * help without loading the store (SQLite).
 */
export const ROLES = ['staff', 'site', 'community', 'dashboard', 'ingest'] as const;
export type Role = (typeof ROLES)[number];

export const TOKENS_FILE = 'tokens.sqlite';
