/** Keeps the last `size` lines of a command's output, for the ledger and error messages. */
export class OutputTail {
  private readonly lines: string[] = [];

  constructor(private readonly size = 50) {}

  push(line: string): void {
    this.lines.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
    if (this.lines.length > this.size) this.lines.shift();
  }

  toArray(): string[] {
    return [...this.lines];
  }
}
