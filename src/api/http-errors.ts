/** The JSON error body every non-GraphQL refusal of the HTTP service carries, shaped like a GraphQL error. */
export const errorBody = (code: string, message: string, extensions: Record<string, unknown> = {}) => ({
  errors: [{ message, extensions: { code, ...extensions } }],
});

/** An HTTP refusal: status, body, and the headers it needs (Retry-After, WWW-Authenticate). */
export interface Refusal {
  status: number;
  body: ReturnType<typeof errorBody>;
  headers?: Record<string, string>;
}

export const refusal = (status: number, code: string, message: string, headers?: Record<string, string>): Refusal => ({
  status,
  body: errorBody(code, message),
  ...(headers ? { headers } : {}),
});
