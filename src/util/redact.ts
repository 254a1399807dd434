/**
 * Replaces every secret in a piece of text with `***`. Everything leapfrog prints, logs or
 * stores from a phase command's output passes through here, because migration tools are known
 * to echo their connection string in error messages.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a URL is replaced whole before its password is.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length < 3) continue;
    out = out.split(secret).join('***');
  }
  return out;
}
