/**
 * Whether the server can listen where it was told to, checked before any
 * work starts (the demo loads for seconds first), as a user error.
 */
import net from 'node:net';
import { UserError } from '../errors.ts';

/** Listens on `host:port` for a moment; port 0 (any free port) always succeeds. */
export async function ensurePortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  const probe = net.createServer();
  const failure = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    probe.once('error', resolve);
    probe.listen({ port, host, exclusive: true }, () => resolve(undefined));
  });
  if (!failure) return new Promise((resolve) => probe.close(() => resolve()));
  const location = { field: 'port' };
  if (failure.code === 'EADDRINUSE')
    throw new UserError('PORT_IN_USE', `port ${port} is in use (try --port)`, location);
  if (failure.code === 'EACCES')
    throw new UserError(
      'PORT_FORBIDDEN',
      `port ${port} needs privileges this user lacks (try --port above 1023)`,
      location,
    );
  if (failure.code === 'EADDRNOTAVAIL' || failure.code === 'ENOTFOUND')
    throw new UserError('HOST_UNAVAILABLE', `cannot listen on ${host}: no such local address (try --host)`, {
      field: 'host',
    });
  throw failure;
}
