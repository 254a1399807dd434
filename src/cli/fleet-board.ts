import type { FleetProgressEvent } from '../fleet/run-fleet.js';
import { formatDuration } from '../util/duration.js';
import { redactKnown } from '../util/secrets.js';

/**
 * A fleet's progress on a terminal. What is finished stays, one line each (a target at R, a
 * target that failed, the fleet moving to its next release); below it a live block is redrawn
 * in place: the counts, then one line per running target with the release and phase it is in
 * and for how long. A fleet of hundreds of tenants would otherwise scroll a line per phase per
 * target past the person watching it. Pipes and CI keep printProgress's plain lines, tools the
 * JSON lines.
 */
export class FleetBoard {
  readonly #out: NodeJS.WriteStream;
  readonly #running = new Map<string, { group: string; to: string; at: string | null; since: number }>();
  #counts = '';
  #done: string[] = [];
  #liveLines = 0;
  #frame = 0;
  #timer: NodeJS.Timeout | null = null;
  readonly #ticker: NodeJS.Timeout;

  constructor(out: NodeJS.WriteStream = process.stdout) {
    this.#out = out;
    // The elapsed times and the spinner move even while no event comes (a long data phase).
    this.#ticker = setInterval(() => this.#draw(), 500);
    this.#ticker.unref();
  }

  onEvent(event: FleetProgressEvent): void {
    if ('counts' in event) {
      const c = event.counts;
      this.#counts = `[${c.done}/${c.total} done, ${c.running} running, ${c.failed} failed]`;
    }
    switch (event.type) {
      case 'fleet-started':
        this.#done.push(
          `fleet: ${event.counts.total} targets -> ${event.to} (${event.lockstep ? `lockstep through ${event.stops.join(', ')}` : 'each target its own path'})`,
        );
        break;
      case 'fleet-release-started':
        this.#done.push(`every target to ${event.release}`);
        break;
      case 'target-started':
        this.#running.set(event.target, { group: event.group, to: event.to, at: null, since: performance.now() });
        break;
      case 'target-phase': {
        const running = this.#running.get(event.target);
        if (running !== undefined)
          running.at = `${event.release} ${event.phase}${event.name === event.phase ? '' : ` ${event.name}`}`;
        break;
      }
      case 'target-finished': {
        const running = this.#running.get(event.target);
        this.#running.delete(event.target);
        const took = running === undefined ? '' : ` (${formatDuration(performance.now() - running.since)})`;
        this.#done.push(
          event.ok
            ? `✔ ${event.target} at ${event.release ?? event.to}${took}`
            : `✖ ${event.target} FAILED (exit ${event.exitCode})${took}: ${redactKnown(event.message ?? '')}`,
        );
        break;
      }
      case 'fleet-stopped':
        this.#done.push(`fleet stopped${event.release === null ? '' : ` at ${event.release}`}: ${event.reason}`);
        break;
    }
    this.#redrawSoon();
  }

  /** Lines that stay, above the live block (a backup taken by one of the walks). */
  note(text: string): void {
    this.#done.push(...text.split('\n'));
    this.#redrawSoon();
  }

  // Redrawn at most every 80 ms: a hundred targets changing phase at once is one frame.
  #redrawSoon(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      this.#draw();
    }, 80);
  }

  /** The last frame without the live block: what is finished stays on the screen. */
  stop(): void {
    clearInterval(this.#ticker);
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#running.clear();
    this.#draw(false);
  }

  #draw(live = true): void {
    const width = Math.max(20, (this.#out.columns ?? 80) - 1);
    const fit = (line: string) => (line.length > width ? `${line.slice(0, width - 1)}…` : line);
    let text = this.#liveLines > 0 ? `\u001b[${this.#liveLines}A\r\u001b[J` : '';
    // Lines that stay are whole (a backup's path, a failure's reason): the terminal wraps them.
    // Only the live block must fit, one screen line per line, for the redraw to find its top.
    for (const line of this.#done) text += `${line}\n`;
    this.#done = [];
    const block: string[] = [];
    if (live && this.#counts !== '') {
      const spinner = SPINNER[(this.#frame += 1) % SPINNER.length] ?? '';
      block.push(this.#counts);
      // As many running targets as the screen holds (the counts line and a spare one aside).
      const room = Math.max(1, (this.#out.rows ?? 24) - 3);
      const running = [...this.#running];
      for (const [target, r] of running.slice(0, room)) {
        const since = formatDuration(performance.now() - r.since);
        block.push(`  ${spinner} ${target} (${r.group}) -> ${r.to}: ${r.at ?? 'starting'}, ${since}`);
      }
      if (running.length > room) block.push(`  … and ${running.length - room} more running`);
    }
    for (const line of block) text += `${fit(line)}\n`;
    this.#liveLines = block.length;
    if (text !== '') this.#out.write(text);
  }
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
