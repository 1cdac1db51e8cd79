/**
 * Who may read what, decided once per field from the token's role and scope.
 * A scoped caller's filters are narrowed to its scope before any query runs,
 * so totals and groupings only ever add up its own rows; asking for anything
 * outside the scope is FORBIDDEN with a message that says nothing about
 * whether the thing exists.
 */
import { GraphQLError } from 'graphql';
import type { Principal, Role } from './tokens.ts';

export const forbidden = () =>
  new GraphQLError('not allowed for this token', { extensions: { code: 'FORBIDDEN', http: { status: 200 } } });

export function requireRole(p: Principal, ...roles: Role[]): void {
  if (!roles.includes(p.role)) throw forbidden();
}

/** One requested value set narrowed to a single allowed value: [scope], or FORBIDDEN if another is asked for. */
function narrow(requested: readonly string[] | null | undefined, scope: string): string[] {
  if (requested && requested.some((v) => v !== scope)) throw forbidden();
  return [scope];
}

export interface AccountingScope {
  sites?: string[];
  vos?: string[];
}

/** Accounting: staff everything, a site its own site's records, a community its own VO's usage. */
export function accountingScope(
  p: Principal,
  requested: { sites?: readonly string[] | null; vos?: readonly string[] | null },
): AccountingScope {
  switch (p.role) {
    case 'staff':
      return {};
    case 'site':
      return { sites: narrow(requested.sites, p.scope!) };
    case 'community':
      return { vos: narrow(requested.vos, p.scope!) };
    default:
      throw forbidden();
  }
}

/** Site-level data (quarantine, warnings): staff any site (or all), a site only its own. */
export function siteOnly(p: Principal, requested: string | null | undefined): string | undefined {
  if (p.role === 'staff') return requested ?? undefined;
  if (p.role === 'site')
    return narrow(requested === null || requested === undefined ? undefined : [requested], p.scope!)[0];
  throw forbidden();
}

/**
 * Availability and topology: staff and dashboard see everything; a site sees
 * its own site's endpoints, services and site level, not groups of sites
 * (a group's figure is built from other sites' days).
 */
export function availabilityScope(
  p: Principal,
  requested: { site?: string | null; group?: string | null },
): { site?: string; groupsAllowed: boolean } {
  if (p.role === 'staff' || p.role === 'dashboard')
    return { ...(requested.site ? { site: requested.site } : {}), groupsAllowed: true };
  if (p.role === 'site') {
    if (requested.group) throw forbidden();
    return { site: narrow(requested.site ? [requested.site] : undefined, p.scope!)[0]!, groupsAllowed: false };
  }
  throw forbidden();
}

/** Whether a change to `site` may be pushed to this caller. */
export function maySeeSite(p: Principal, site: string): boolean {
  if (p.role === 'staff' || p.role === 'dashboard') return true;
  return p.role === 'site' && p.scope === site;
}
