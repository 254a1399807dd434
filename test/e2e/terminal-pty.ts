// Runs a command on a real pseudo-terminal, as a person in a terminal would: the command is the
// session leader with the pty as its controlling terminal, so a "\x03" written to it is turned
// into SIGINT by the terminal's line discipline (not by us), and isTTY/columns are real.
// node-pty needs a native build (install scripts do not run here); python3's pty module does not.
import { execa, type ResultPromise } from 'execa';

const PTY_PY = String.raw`
import fcntl, os, select, struct, subprocess, sys, termios
cols, rows = int(sys.argv[1]), int(sys.argv[2])
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
def controlling_terminal():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
child = subprocess.Popen(sys.argv[3:], stdin=slave, stdout=slave, stderr=slave, preexec_fn=controlling_terminal)
os.close(slave)
keys_open = True
while True:
    watch = [master] + ([0] if keys_open else [])
    ready, _, _ = select.select(watch, [], [], 0.2)
    if master in ready:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b''
        if not data:
            break
        os.write(1, data)
    if 0 in ready:
        keys = os.read(0, 1024)
        if keys:
            os.write(master, keys)
        else:
            keys_open = False
code = child.wait()
sys.exit(128 - code if code < 0 else code)
`;

export interface PtyRun {
  process: ResultPromise<{ reject: false; env: Record<string, string>; extendEnv: false }>;
  /** Everything the terminal showed so far (escape codes included). */
  screen(): string;
  /** Types keys into the terminal, e.g. "\x03" for Ctrl-C. */
  type(keys: string): void;
}

/** `env` replaces the environment (no CI, so the CLI sees a terminal it may redraw). */
export function runInPty(command: string[], env: Record<string, string>, size = { cols: 120, rows: 40 }): PtyRun {
  const child = execa('python3', ['-c', PTY_PY, String(size.cols), String(size.rows), ...command], {
    reject: false,
    env,
    extendEnv: false,
    stdin: 'pipe',
  });
  let screen = '';
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString('utf8');
  });
  return {
    process: child,
    screen: () => screen,
    type: (keys) => {
      child.stdin.write(keys);
    },
  };
}

/** The environment of this process without what marks it as CI or a dumb terminal. */
export function terminalEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && key !== 'CI' && !key.startsWith('VITEST') && key !== 'NO_COLOR') env[key] = value;
  }
  return { ...env, TERM: 'xterm-256color', ...extra };
}

/** The screen's text without colours and cursor movement, for assertions. */
export function plainText(screen: string): string {
  return screen.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}
