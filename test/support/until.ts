/** Polls `probe` every `everyMs` until it gives a value (not undefined), or throws once `ms` have passed. */
export async function until<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
