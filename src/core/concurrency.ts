/**
 * Runs `fn` on every item, at most `limit` at a time, starting them in order; resolves when all have
 * ended. A throw rejects (the calls under way run on): callers that want every item tried catch in
 * `fn`.
 */
export async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
