export interface SignalHandlers extends Disposable {
  signal: AbortSignal;
  dispose(): void;
}

/**
 * Where a verb starts: SIGINT/SIGTERM abort the run: the executor stops the command, the runner
 * records the phase as interrupted, the pipeline releases the lock, the verb exits 130 with the
 * resume hint. A second Ctrl-C while that happens (people press it twice) is not allowed to cut
 * the recording short; a third quits at once for a run that cannot stop (the ledger then still
 * says running).
 */
export function installSignalHandlers(): SignalHandlers {
  const controller = new AbortController();
  let received = 0;
  const onSignal = (name: NodeJS.Signals) => {
    received += 1;
    if (received === 1) {
      controller.abort(new Error(`received ${name}`));
    } else if (received === 2) {
      process.stderr.write(
        `\nleapfrog: already stopping (${name === 'SIGINT' ? 'Ctrl-C' : name} once more quits without waiting; the ledger would then still show the run as running)\n`,
      );
    } else {
      // The terminal gets its cursor back even when the renderer never ends.
      if (process.stdout.isTTY) process.stdout.write('\u001b[?25h\n');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const dispose = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  return { signal: controller.signal, dispose, [Symbol.dispose]: dispose };
}
