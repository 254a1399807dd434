import type { ValidationCase } from './validation-case.js';
import type { ValidationCheck } from './validation-problem.js';

/**
 * JUnit XML, the format every CI system renders: one <testsuite> per check, one <testcase> per
 * subject, a <failure> per problem. Plain string building: the format is small and fixed.
 */
export function junitXml(cases: readonly ValidationCase[], name = 'leapfrog validate'): string {
  const checks = [...new Set(cases.map((c) => c.check))];
  const totalFailures = cases.filter((c) => c.failures.length > 0).length;
  const totalTime = seconds(cases.reduce((sum, c) => sum + c.timeMs, 0));
  const suites = checks.map((check) =>
    suite(
      check,
      cases.filter((c) => c.check === check),
    ),
  );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(name)}" tests="${cases.length}" failures="${totalFailures}" errors="0" time="${totalTime}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

function suite(check: ValidationCheck, cases: readonly ValidationCase[]): string {
  const failures = cases.filter((c) => c.failures.length > 0).length;
  const time = seconds(cases.reduce((sum, c) => sum + c.timeMs, 0));
  const body = cases.map((c) => {
    const open = `    <testcase classname="leapfrog.validate.${xml(check)}" name="${xml(c.name)}" time="${seconds(c.timeMs)}"`;
    const parts: string[] = [];
    for (const failure of c.failures) {
      parts.push(`      <failure message="${xml(firstLine(failure))}" type="${xml(check)}">${xml(failure)}</failure>`);
    }
    if (c.output !== undefined && c.output !== '') parts.push(`      <system-out>${xml(c.output)}</system-out>`);
    return parts.length === 0 ? `${open}/>` : `${open}>\n${parts.join('\n')}\n    </testcase>`;
  });
  return [
    `  <testsuite name="${xml(check)}" tests="${cases.length}" failures="${failures}" errors="0" time="${time}">`,
    ...body,
    '  </testsuite>',
  ].join('\n');
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** Escapes text and attribute values; drops characters XML 1.0 cannot carry at all. */
export function xml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
