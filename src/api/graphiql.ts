/**
 * GraphiQL as yoga serves it at GET /graphql, with every script, style and
 * editor worker inlined from @graphql-yoga/render-graphiql: the page works
 * on a server with no internet access, where yoga's default page (assets
 * from a public CDN) stays blank.
 */
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';

/** The page loads without a token; its queries carry one from the headers editor, prefilled with this hint. */
export const GRAPHIQL_HEADERS_HINT = { Authorization: 'Bearer <token>' };

export const GRAPHIQL_OPTIONS: GraphiQLOptions = {
  title: 'fedledger GraphiQL',
  headers: JSON.stringify(GRAPHIQL_HEADERS_HINT, null, 2),
  defaultEditorToolsVisibility: 'headers',
  defaultQuery: '{\n  me {\n    role\n    scope\n  }\n}\n',
};

const rendered = new Map<string, string>();

/** The page is about 9 MB of inlined assets: it is built once per set of options, not per request. */
export function renderOfflineGraphiQL(options?: GraphiQLOptions): string {
  const key = JSON.stringify(options ?? {});
  let page = rendered.get(key);
  if (page === undefined) rendered.set(key, (page = renderGraphiQL(options)));
  return page;
}
