// serial.ts: runs async steps one at a time, in the order they were asked for. The announcer's
// parts (the lease's `ip -batch` ticks, BIRD's starts and reloads, the engine port's apply and
// re-announcement) each mutate one piece of kernel or daemon state that must never see two
// writers at once.

/** serializer returns a function that runs each fn after every earlier one settled; a failure is the caller's, not the next step's. */
export function serializer(): <T>(fn: () => Promise<T>) => Promise<T> {
  let chain: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };
}
