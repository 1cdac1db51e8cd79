/**
 * Secrets resolved from the environment or a file. A `Secret` prints as
 * "***" in logs, JSON and error messages; only `reveal()` gives the value.
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../errors.ts';
import type { SecretRef } from './config.ts';

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '***';
  }
  toJSON(): string {
    return '***';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Secret(***)';
  }
}

export function resolveSecret(ref: SecretRef, field: string, env: NodeJS.ProcessEnv = process.env): Secret {
  if ('env' in ref) {
    const value = env[ref.env];
    if (!value)
      throw new UserError('MISSING_SECRET', `${field}: environment variable ${ref.env} is not set`, { field });
    return new Secret(value);
  }
  let text: string;
  try {
    text = readFileSync(ref.file, 'utf8');
  } catch (error) {
    throw new UserError(
      'MISSING_SECRET',
      `${field}: cannot read ${ref.file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { field },
    );
  }
  const value = text.split(/\r?\n/)[0]!.trim();
  if (!value) throw new UserError('MISSING_SECRET', `${field}: ${ref.file} is empty`, { field });
  return new Secret(value);
}
