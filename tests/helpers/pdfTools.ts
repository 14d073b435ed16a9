/**
 * What the PDF tests need on the machine: Debian's Chromium (the renderer, as in
 * production) and poppler-utils' `pdftotext` (to read the PDFs back). Installed with
 * apt-get when missing, as dovecot-imapd is (CI runs as root on a fresh Debian machine).
 */
import { execFileSync } from 'node:child_process';

/** Debian packages and the command each provides. */
const PACKAGES: [pkg: string, command: string][] = [
  ['chromium', 'chromium'],
  ['poppler-utils', 'pdftotext'],
];

function has(command: string): boolean {
  try {
    execFileSync('which', [command], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function ensurePdfToolsInstalled(): void {
  const missing = PACKAGES.filter(([, command]) => !has(command)).map(([pkg]) => pkg);
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
  execFileSync('apt-get', ['install', '-y', ...missing], { stdio: 'ignore', env, timeout: 600_000 });
}

/** The text of a PDF, as `pdftotext - -` reads it (layout order, UTF-8). */
export function pdfText(pdf: Buffer): string {
  return execFileSync('pdftotext', ['-enc', 'UTF-8', '-', '-'], { input: pdf, maxBuffer: 64 * 1024 * 1024 }).toString('utf8');
}
